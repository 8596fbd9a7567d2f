"""Beat jobs: every election moves with the clock, and each step is safe to run twice.

`elections_tick` (every minute) walks the elections not yet closed and, as their dates pass:
queues the call for nominations, freezes the voter roll at the cut-off, queues the opening
mail, queues the reminder ELECTIONS_REMINDER_HOURS before the close, closes and counts at the
deadline, then queues the results. Sending happens in `mail_send_pending`, per kind.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from portal.retry import SMTP_RETRY

from . import services
from .models import Election, MailLedger


def _queue_and_send(election: Election, kind: str) -> None:
    services.mail_queue(election, kind)
    mail_send_pending.delay(election.pk, kind)


@shared_task(acks_late=True)
def elections_tick() -> int:
    now = timezone.now()
    reminder_lead = timedelta(hours=getattr(settings, "ELECTIONS_REMINDER_HOURS", 48))
    stepped = 0
    recent = now - timedelta(days=7)
    for election in Election.objects.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=recent)):
        phase = election.phase(now)
        queued = set(
            MailLedger.objects.filter(election=election).values_list("kind", flat=True).distinct()
        )
        if (
            phase == Election.Phase.NOMINATIONS
            and MailLedger.Kind.CALL_FOR_NOMINATIONS not in queued
        ):
            _queue_and_send(election, MailLedger.Kind.CALL_FOR_NOMINATIONS)
            stepped += 1
        if now >= election.eligibility_cutoff and election.roll_frozen_at is None:
            services.roll_freeze(election)
            election.refresh_from_db()
            stepped += 1
        if phase == Election.Phase.VOTING:
            if MailLedger.Kind.OPENING not in queued:
                _queue_and_send(election, MailLedger.Kind.OPENING)
                stepped += 1
            if (
                now >= election.voting_close_at - reminder_lead
                and MailLedger.Kind.REMINDER not in queued
            ):
                _queue_and_send(election, MailLedger.Kind.REMINDER)
                stepped += 1
        if phase == Election.Phase.COUNTING and services.election_close(election, now=now):
            stepped += 1
        election.refresh_from_db()
        if election.closed_at and MailLedger.Kind.RESULTS not in queued:
            _queue_and_send(election, MailLedger.Kind.RESULTS)
            stepped += 1
        # Rows a killed worker left unsent go out on the next tick.
        for kind in (
            MailLedger.objects.filter(election=election, sent_at__isnull=True)
            .values_list("kind", flat=True)
            .distinct()
        ):
            if kind in queued:
                mail_send_pending.delay(election.pk, kind)
    return stepped


@shared_task(**SMTP_RETRY)
def mail_send_pending(election_id: int, kind: str) -> int:
    election = Election.objects.filter(pk=election_id).first()
    if election is None:
        return 0
    return services.mail_send_pending(election, kind)
