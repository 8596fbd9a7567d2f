"""Education's background jobs. Each takes primary keys and calls the service it is named for;
mail tasks are `send_*` (the mail queue) and send once through portal.sendonce. Every job is
safe to run twice: grants and issues are idempotent, mails are stamped on their rows."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from portal.retry import SMTP_RETRY

from . import mail


@shared_task(**SMTP_RETRY)
def send_certificate(certificate_id: int) -> bool:
    return mail.certificate_mail(certificate_id)


@shared_task(**SMTP_RETRY)
def send_evaluation_invitation(attendance_id: int) -> bool:
    return mail.evaluation_invitation(attendance_id)


@shared_task(acks_late=True)
def certificates_issue(conference_id: int) -> int:
    from conferences.models import ConferencePage

    from . import services

    conference = ConferencePage.objects.get(pk=conference_id)
    return services.certificates_issue(conference)


# Sessions that ended longer ago than this get no invitation (a site switched on late).
INVITE_LOOKBACK = timedelta(days=7)


@shared_task(acks_late=True)
def evaluations_invite() -> int:
    """Beat: queue the evaluation invitation for everyone checked in at a session that has
    ended and was not mailed yet. The mail itself is stamped once sent (sendonce)."""
    from .models import SessionAttendance

    now = timezone.now()
    due = SessionAttendance.objects.filter(
        evaluation_mailed_at__isnull=True,
        session__ends_at__lte=now,
        session__ends_at__gte=now - INVITE_LOOKBACK,
    )
    ids = list(due.values_list("pk", flat=True)[:2000])
    for pk in ids:
        send_evaluation_invitation.delay(pk)
    return len(ids)


@shared_task(acks_late=True)
def certificates_issue_due() -> int:
    """Beat: bulk issue for conferences whose program ended in the last few days; the
    issue is idempotent, so running every hour only catches late evaluations."""
    from django.db.models import Max

    from conferences.models import ConferencePage

    now = timezone.now()
    ended = (
        ConferencePage.objects.live()
        .annotate(last=Max("sessions__ends_at"))
        .filter(last__lte=now, last__gte=now - timedelta(days=45))
        .values_list("pk", flat=True)
    )
    for pk in ended:
        certificates_issue.delay(pk)
    return len(ended)
