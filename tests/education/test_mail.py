"""Education's mail through a real worker and SMTP server: the evaluation invitation goes
out once per attendee and session however often the beat job runs; a certificate is mailed
once, with its PDF; one revoked before the worker reached it is not mailed."""

import time
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from education import services, tasks
from education.models import Certificate, SessionAttendance
from tests.conftest import wait_for
from tests.factories import MemberFactory

from .test_sessions import _end

pytestmark = pytest.mark.django_db(transaction=True)


def test_evaluation_invitation_sent_once(celery_worker, smtp_server, plenary, attendee):
    services.self_check_in(session=plenary, attendee=attendee, code="RHEUM7")
    assert tasks.evaluations_invite() == 0  # the session has not ended
    _end(plenary)
    assert tasks.evaluations_invite() == 1
    tasks.evaluations_invite()  # the beat again before the first send finished
    mails = smtp_server.wait_for(1)
    wait_for(lambda: SessionAttendance.objects.get().evaluation_mailed_at is not None)
    assert tasks.evaluations_invite() == 0
    time.sleep(2)
    assert len(smtp_server.received) == 1
    assert mails[0].rcpt_tos == [attendee.email]
    body = mails[0].message.get_body(("plain",)).get_content()
    assert "/education/t/" in body and plenary.title in body


def test_certificate_mailed_once_and_not_when_revoked(celery_worker, smtp_server):
    member = MemberFactory()
    other = MemberFactory()

    def issue(who, ref):
        return services.certificate_issue(
            member=who,
            source_kind="conference",
            source_ref=ref,
            title="NORM Annual Conference 2026",
            hours={"CRMS": Decimal("2")},
            earned_on=date(2026, 10, 2),
        )[0]

    certificate = issue(member, "conference:1")
    issue(member, "conference:1")  # idempotent: no second certificate, no second mail
    mails = smtp_server.wait_for(1)
    wait_for(lambda: Certificate.objects.get(pk=certificate.pk).mailed_at is not None)
    tasks.send_certificate.delay(certificate.pk)  # a retried task
    time.sleep(2)
    assert len(smtp_server.received) == 1
    assert mails[0].message.get_all("To") == [member.email]
    # Revoked before its mail went out: the task records it handled and sends nothing.
    revoked = Certificate.objects.create(
        member=other,
        holder_name="X",
        title="T",
        source_kind="course",
        source_ref="course:1",
        hours={"CEU": "1.00"},
        earned_on=timezone.localdate(),
        revoked_at=timezone.now(),
    )
    tasks.send_certificate.delay(revoked.pk)
    wait_for(lambda: Certificate.objects.get(pk=revoked.pk).mailed_at is not None)
    assert len(smtp_server.received) == 1
