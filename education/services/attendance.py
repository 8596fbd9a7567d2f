"""Who was at a conference session: door staff scan the ticket, or the attendee types the code
shown in the room during the check-in window.

One `SessionAttendance` row per attendee and session (a unique constraint), so a second scan
answers "already checked in" and changes nothing. A break-out the attendee did not pick counts
when it had a free seat: counted under the conference's seat lock with the same fit check as
every other seat writer (conferences.capacity), walk-ins already let in counting as taken.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format

from conferences import capacity
from conferences.models import Attendee, BreakoutChoice, Order, Session

from ..models import SessionAttendance, SessionRule
from .common import Refusal

log = logging.getLogger(__name__)

# Wrong room codes one attendee may type for one session within the window below.
CODE_GUESSES = getattr(settings, "EDUCATION_CODE_GUESSES", 5)
CODE_GUESS_WINDOW = 15 * 60


@dataclass
class CheckIn:
    attendance: SessionAttendance
    already: bool

    @property
    def message(self) -> str:
        name = self.attendance.attendee.full_name
        if self.already:
            when = timezone.localtime(self.attendance.checked_in_at)
            return f"{name} is already checked in (since {date_format(when, 'TIME_FORMAT')})."
        return f"{name} is checked in to “{self.attendance.session.title}”."


def attendee_member(attendee: Attendee) -> Any:
    """The account an attendee's credit goes to: the order's owner when the ticket is theirs,
    else the account whose verified address is the attendee's; None without one."""
    email = attendee.email.strip().lower()
    owner = attendee.order.owner
    if (owner.email or "").lower() == email:
        return owner
    from allauth.account.models import EmailAddress

    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=True)
        .select_related("user")
        .first()
    )
    if address is not None:
        return address.user
    return None


def _ticket_covers(attendee: Attendee, session: Session) -> bool:
    day = attendee.ticket_type.day
    return day is None or timezone.localtime(session.starts_at).date() == day


def _walk_in_fits(session: Session) -> bool:
    """Whether a break-out has a seat for one more person who did not pick it: the seats
    held by choices and offers, plus walk-ins already let in, leave room. Runs under the seat
    lock the caller took."""
    use = capacity.seat_use(conference_id=session.conference_id, session_ids=[session.pk])
    walk_ins = (
        SessionAttendance.objects.filter(session=session)
        .exclude(attendee__choices__session=session)
        .count()
    )
    use.by_session[session.pk] = use.by_session.get(session.pk, 0) + walk_ins
    wanted = capacity.SeatUse(by_session={session.pk: 1})
    return (
        capacity.shortage(
            taken=use,
            wanted=wanted,
            conference_capacity=0,
            ticket_types={},
            sessions={session.pk: session},
        )
        is None
    )


def session_check_in(
    *,
    session: Session,
    attendee: Attendee,
    method: str,
    by: Any = None,
) -> CheckIn:
    """Record that `attendee` is at `session`, or refuse with the reason.

    Raises Refusal for a ticket of another conference, an order that is not confirmed, a
    one-day ticket for another day, or a break-out without a free seat for a walk-in.
    """
    if attendee.order.conference_id != session.conference_id:
        raise Refusal("This ticket is for another conference.")
    if attendee.order.status != Order.Status.PAID:
        status = attendee.order.get_status_display().lower()
        raise Refusal(f"{attendee.full_name}'s order is {status}.")
    if not _ticket_covers(attendee, session):
        raise Refusal(f"{attendee.full_name}'s ticket is for another day.")
    existing = (
        SessionAttendance.objects.filter(session=session, attendee=attendee)
        .select_related("attendee", "session")
        .first()
    )
    if existing is not None:
        return CheckIn(existing, already=True)
    picked = BreakoutChoice.objects.filter(attendee=attendee, session=session).exists()
    try:
        with transaction.atomic():
            if session.is_breakout and not picked:
                capacity.lock_capacity(conference_id=session.conference_id)
                if not _walk_in_fits(session):
                    raise Refusal(
                        f"“{session.title}” is full and {attendee.full_name} did not pick it."
                    )
            attendance = SessionAttendance.objects.create(
                session=session, attendee=attendee, method=method, checked_in_by=by
            )
            from .earning import attendance_earn  # local: earning imports this module

            attendance_earn(attendance)
    except IntegrityError:
        # The same ticket scanned at the same moment on another phone: theirs stands.
        return CheckIn(SessionAttendance.objects.get(session=session, attendee=attendee), True)
    log.info("session check-in: attendee %s at session %s (%s)", attendee.pk, session.pk, method)
    return CheckIn(attendance, already=False)


def door_check_in(*, session: Session, ticket_code: str, by: Any) -> CheckIn:
    """Door staff scanned or typed a ticket code at `session`'s door."""
    code = ticket_code.strip().upper()[:12]
    attendee = (
        Attendee.objects.select_related("order", "ticket_type")
        .filter(ticket_code=code, order__conference_id=session.conference_id)
        .first()
    )
    if attendee is None:
        raise Refusal(f"No ticket {code} for this conference.")
    if session.ends_at < timezone.now() - _DOOR_GRACE:
        raise Refusal(f"“{session.title}” ended at {_time(session.ends_at)}.")
    return session_check_in(
        session=session, attendee=attendee, method=SessionAttendance.Method.DOOR, by=by
    )


# Door staff may still scan someone in this long after the session's end (a late list).
_DOOR_GRACE = timedelta(hours=1)


def _time(at: datetime) -> str:
    return date_format(timezone.localtime(at), "TIME_FORMAT")


def _guess_key(attendee: Attendee, session: Session) -> str:
    return f"education:code-guesses:{attendee.pk}:{session.pk}"


def self_check_in(*, session: Session, attendee: Attendee, code: str) -> CheckIn:
    """The attendee typed the room code on their ticket page. Refused, with the reason,
    outside the window, for a wrong code, or after too many wrong codes (a lockout of
    CODE_GUESS_WINDOW seconds, so the six characters cannot be walked through)."""
    rule = SessionRule.objects.filter(session=session).first()
    if rule is None:
        raise Refusal("This session has no self check-in. Ask the door staff to scan your ticket.")
    key = _guess_key(attendee, session)
    if cache.get(key, 0) >= CODE_GUESSES:
        raise Refusal(
            "Too many wrong codes. Wait 15 minutes, or ask the door staff to scan your ticket."
        )
    opens, closes = rule.window()
    now = timezone.now()
    if now < opens:
        raise Refusal(f"Check-in for “{session.title}” opens at {_time(opens)}.")
    if now > closes:
        raise Refusal(f"Check-in for “{session.title}” closed at {_time(closes)}.")
    typed = code.strip().upper()[:12]
    if not typed or not secrets.compare_digest(typed, rule.room_code):
        cache.add(key, 0, CODE_GUESS_WINDOW)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, CODE_GUESS_WINDOW)
        log.info(
            "self check-in refused: wrong code, attendee %s session %s", attendee.pk, session.pk
        )
        raise Refusal("That is not the code shown in the room. Check it and try again.")
    return session_check_in(
        session=session, attendee=attendee, method=SessionAttendance.Method.SELF
    )
