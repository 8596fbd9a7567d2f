"""Read-only views of education data for pages: the attendee's panel on their ticket, the
member's transcript, the staff overview of a conference."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils import timezone

from conferences.models import Attendee, ConferencePage, Session

from . import services
from .models import (
    Certificate,
    CreditRecord,
    CreditType,
    EvaluationSubmission,
    SessionAttendance,
    SessionCredit,
    SessionRule,
    SourceKind,
)


@dataclass
class SessionLine:
    session: Session
    credits: list[SessionCredit]
    attendance: SessionAttendance | None
    evaluation: str  # services.evaluation_state
    check_in_open: bool


def ticket_panel(attendee: Attendee) -> dict[str, Any]:
    """What the ticket page shows about credit: sessions open for self check-in now, sessions
    attended with their evaluation, and the certificate."""
    conference = attendee.order.conference
    now = timezone.now()
    sessions = list(conference.sessions.order_by("starts_at", "sort_order", "pk"))
    credits: dict[int, list[SessionCredit]] = defaultdict(list)
    for credit in SessionCredit.objects.filter(session__in=sessions).select_related("credit_type"):
        credits[credit.session_id].append(credit)
    rules = {r.session_id: r for r in SessionRule.objects.filter(session__in=sessions)}
    attended = {a.session_id: a for a in SessionAttendance.objects.filter(attendee=attendee)}
    evaluated = set(
        EvaluationSubmission.objects.filter(attendee=attendee).values_list("session_id", flat=True)
    )
    day = attendee.ticket_type.day
    lines = []
    for session in sessions:
        if day and timezone.localtime(session.starts_at).date() != day:
            continue
        rule = rules.get(session.pk)
        if rule is not None:
            rule.session = session
        opens_closes = rule.window() if rule else None
        check_in_open = bool(opens_closes and opens_closes[0] <= now <= opens_closes[1])
        attendance = attended.get(session.pk)
        if attendance is None and not check_in_open:
            continue
        if session.pk in evaluated:
            state = "done"
        elif attendance is None:
            state = "not-attended"
        elif now < session.ends_at:
            state = "not-yet"
        else:
            state = services.evaluation_state(session, attendee)
        lines.append(
            SessionLine(session, credits.get(session.pk, []), attendance, state, check_in_open)
        )
    member = services.attendee_member(attendee)
    certificate = None
    if member is not None:
        certificate = Certificate.objects.filter(
            member=member,
            source_kind=SourceKind.CONFERENCE,
            source_ref=services.conference_ref(conference),
            revoked_at__isnull=True,
        ).first()
    may_request = bool(attended and member is not None and services.program_over(conference))
    return {
        "lines": lines,
        "certificate": certificate,
        "may_request_certificate": may_request,
        "has_account": member is not None,
    }


@dataclass
class TranscriptYear:
    year: int
    records: list[CreditRecord]
    totals: list[tuple[str, Decimal]]


def transcript(member: Any) -> dict[str, Any]:
    """The member's hours by year (newest first) with totals per credit type, and their
    certificates."""
    records = list(CreditRecord.objects.filter(member=member).select_related("credit_type"))
    order = list(CreditType.objects.values_list("code", flat=True))
    years: dict[int, list[CreditRecord]] = defaultdict(list)
    for record in records:
        years[record.earned_on.year].append(record)

    def totals(rows: list[CreditRecord]) -> list[tuple[str, Decimal]]:
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            sums[row.credit_type.code] += row.hours
        return [(code, sums[code]) for code in order if code in sums]

    return {
        "years": [
            TranscriptYear(year, sorted(rows, key=lambda r: (r.earned_on, r.title)), totals(rows))
            for year, rows in sorted(years.items(), reverse=True)
        ],
        "totals": totals(records),
        "certificates": list(Certificate.objects.filter(member=member)),
    }


def staff_overview(conference: ConferencePage) -> list[dict[str, Any]]:
    """Each session with its hours, rule, room code, check-ins and evaluations."""
    sessions = list(
        conference.sessions.annotate(
            checked_in=Count("ce_attendance", distinct=True),
            evaluated=Count("ce_evaluations", distinct=True),
        ).order_by("starts_at", "sort_order", "pk")
    )
    credits: dict[int, list[SessionCredit]] = defaultdict(list)
    for credit in SessionCredit.objects.filter(session__in=sessions).select_related("credit_type"):
        credits[credit.session_id].append(credit)
    rules = {r.session_id: r for r in SessionRule.objects.filter(session__in=sessions)}
    return [
        {"session": s, "credits": credits.get(s.pk, []), "rule": rules.get(s.pk)} for s in sessions
    ]
