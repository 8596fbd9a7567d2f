"""A session's rule met: its hours go to the ledger; a conference's certificate sums them.

Rules are checked whenever something they depend on happens (a check-in, an evaluation), and
every grant and issue is idempotent, so the bulk run after the conference can repeat freely.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from conferences.models import Attendee, ConferencePage, Order, Session

from ..models import (
    Certificate,
    CreditRecord,
    EvaluationSubmission,
    SessionAttendance,
    SessionCredit,
    SessionRule,
    SourceKind,
)
from .attendance import attendee_member
from .certificates import certificate_issue, certificate_revoke
from .common import Refusal
from .credits import credit_grant

log = logging.getLogger(__name__)


def session_ref(session: Session) -> str:
    return f"session:{session.pk}"


def conference_ref(conference: ConferencePage) -> str:
    return f"conference:{conference.pk}"


def rule_for(session: Session) -> SessionRule:
    """The session's rule; a session staff gave no rule earns on check-in alone."""
    rule = SessionRule.objects.filter(session=session).first()
    return rule or SessionRule(session=session, rule=SessionRule.Rule.CHECK_IN)


def rule_met(attendance: SessionAttendance) -> bool:
    if not rule_for(attendance.session).needs_evaluation:
        return True
    return EvaluationSubmission.objects.filter(
        session_id=attendance.session_id, attendee_id=attendance.attendee_id
    ).exists()


def attendance_earn(attendance: SessionAttendance) -> list[CreditRecord]:
    """Grant the session's hours to the attendee's account when its rule is met; the
    records granted now (none when already granted, not yet earned, or no account)."""
    if not rule_met(attendance):
        return []
    session, attendee = attendance.session, attendance.attendee
    credits = list(SessionCredit.objects.filter(session=session).select_related("credit_type"))
    if not credits:
        return []
    member = attendee_member(attendee)
    if member is None:
        log.info(
            "credit not granted: attendee %s has no account for %s (session %s)",
            attendee.pk,
            attendee.email,
            session.pk,
        )
        return []
    granted = []
    for credit in credits:
        record, created = credit_grant(
            member=member,
            source_kind=SourceKind.SESSION,
            source_ref=session_ref(session),
            credit_type=credit.credit_type,
            hours=credit.hours,
            earned_on=timezone.localtime(session.starts_at).date(),
            title=session.title,
            provider=session.conference.title,
        )
        if created:
            granted.append(record)
    return granted


def program_over(conference: ConferencePage) -> bool:
    """Whether the conference's last session has ended (or, without sessions, its last day)."""
    last: datetime | None = conference.sessions.aggregate(last=Max("ends_at"))["last"]
    if last is None:
        return bool(conference.end_date < timezone.localdate())
    return bool(last <= timezone.now())


def conference_earnings(conference: ConferencePage, member: Any) -> list[CreditRecord]:
    refs = [session_ref(s) for s in conference.sessions.all()]
    return list(
        CreditRecord.objects.filter(
            member=member, source_kind=SourceKind.SESSION, source_ref__in=refs
        ).select_related("credit_type")
    )


def conference_certificate(attendee: Attendee, *, mail: bool = True) -> Certificate:
    """The attendee's certificate for the conference, issued when its program is over and
    they earned hours there. Idempotent; a certificate that no longer matches the ledger
    (hours earned after it was issued, such as a late evaluation) is revoked and reissued."""
    conference = attendee.order.conference
    if attendee.order.status != Order.Status.PAID:
        raise Refusal("Certificates are for confirmed tickets only.")
    if not program_over(conference):
        raise Refusal("Certificates are issued once the conference's last session has ended.")
    member = attendee_member(attendee)
    if member is None:
        raise Refusal(f"No account uses {attendee.email}; credit needs one.")
    records = conference_earnings(conference, member)
    if not records:
        raise Refusal("No continuing-education hours were earned at this conference yet.")
    hours: dict[str, Decimal] = defaultdict(Decimal)
    titles: dict[str, str] = {}
    for record in sorted(records, key=lambda r: (r.earned_on, r.title)):
        hours[record.credit_type.code] += record.hours
        titles.setdefault(record.source_ref, record.title)
    items = list(titles.values())
    with transaction.atomic():
        current = (
            Certificate.objects.select_for_update()
            .filter(
                member=member,
                source_kind=SourceKind.CONFERENCE,
                source_ref=conference_ref(conference),
                revoked_at__isnull=True,
            )
            .first()
        )
        wanted = {code: f"{h:.2f}" for code, h in hours.items()}
        if current is not None:
            if current.hours == wanted and current.items == items:
                return current
            certificate_revoke(
                certificate=current, by=None, reason="Replaced: more hours were earned."
            )
        certificate, _ = certificate_issue(
            member=member,
            source_kind=SourceKind.CONFERENCE,
            source_ref=conference_ref(conference),
            title=conference.title,
            event_title=conference.title,
            hours=hours,
            items=items,
            earned_on=conference.end_date,
            holder_name=attendee.full_name,
            reissued_from=current,
            mail=mail,
        )
    return certificate


def certificates_issue(conference: ConferencePage) -> int:
    """Bulk issue after the conference: every confirmed attendee who earned hours. Safe to
    run any number of times; returns how many attendees hold a valid certificate."""
    if not program_over(conference):
        return 0
    attendees = (
        Attendee.objects.filter(
            order__conference=conference,
            order__status=Order.Status.PAID,
            ce_attendance__isnull=False,
        )
        .select_related("order__conference", "order__owner", "ticket_type")
        .distinct()
    )
    issued = 0
    for attendee in attendees:
        try:
            conference_certificate(attendee)
            issued += 1
        except Refusal as refusal:
            log.info("no certificate for attendee %s: %s", attendee.pk, refusal)
    return issued
