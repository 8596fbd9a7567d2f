"""What an attendee carries: a signed link to their ticket, a QR code and a calendar file.

The link is how an attendee who is not the buyer reaches their ticket without an account (as
pretix's ticket links do). It is a signature over the attendee's id, their ticket code and the
day the link stops working, so nothing is stored and nothing can be guessed. It is revoked by
what already changes the ticket: a reissued ticket (a substitute) gets a new ticket code, so
the old link no longer matches; a cancelled order refuses every link of its attendees.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import segno
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from .models import Attendee, Order, Session

LINK_SALT = "conferences.attendee-link"
# A link works until this many days after the conference ends (receipts, refund questions).
LINK_DAYS_AFTER = 60


class LinkInvalid(Exception):
    """A link that was tampered with or never issued: the view answers 404."""


class LinkRevoked(Exception):
    """A genuine link that no longer opens anything (expired, reissued, cancelled): 410."""


@dataclass
class LinkPayload:
    attendee_id: int
    ticket_code: str
    expires: date


def attendee_token(attendee: Attendee) -> str:
    """The attendee's link token. The same attendee and ticket always give the same token, so
    a QR code drawn twice is the same code."""
    conference = attendee.order.conference
    expires = conference.end_date + timedelta(days=LINK_DAYS_AFTER)
    return signing.Signer(salt=LINK_SALT).sign_object(
        {"a": attendee.pk, "t": attendee.ticket_code, "x": expires.isoformat()}
    )


def read_token(token: str) -> LinkPayload:
    """The payload of a well-signed token. Raises LinkInvalid for anything else."""
    if not token or len(token) > 200:
        raise LinkInvalid
    try:
        data = signing.Signer(salt=LINK_SALT).unsign_object(token)
        return LinkPayload(
            attendee_id=int(data["a"]),
            ticket_code=str(data["t"]),
            expires=date.fromisoformat(data["x"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise LinkInvalid from error


def attendee_for_token(token: str) -> Attendee:
    """The attendee a link opens. Raises LinkInvalid (tampered) or LinkRevoked (expired, the
    ticket reissued to someone else, or the order cancelled)."""
    payload = read_token(token)
    attendee = (
        Attendee.objects.select_related("order__conference", "ticket_type")
        .filter(pk=payload.attendee_id)
        .first()
    )
    if attendee is None:
        raise LinkRevoked("This ticket no longer exists.")
    if attendee.ticket_code != payload.ticket_code:
        raise LinkRevoked("This ticket was reissued. The attendee has been sent a new link.")
    if attendee.order.status == Order.Status.CANCELED:
        raise LinkRevoked("This ticket was canceled.")
    if payload.expires < timezone.localdate():
        raise LinkRevoked("This ticket link has expired.")
    return attendee


def attendee_link(attendee: Attendee, name: str = "conferences:attendee-ticket") -> str:
    return settings.SITE_URL + reverse(name, args=[attendee_token(attendee)])


def ticket_url(attendee: Attendee) -> str:
    """The address the QR code holds: the attendee's signed ticket link. Staff with the
    check-in permission who scan it land on the check-in screen for this ticket (the link
    carries the ticket code); anyone else sees the ticket."""
    return attendee_link(attendee)


def qr_png(attendee: Attendee, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make(ticket_url(attendee), error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def qr_svg(attendee: Attendee, *, scale: int = 6) -> str:
    buffer = io.BytesIO()
    segno.make(ticket_url(attendee), error="m").save(
        buffer,
        kind="svg",
        scale=scale,
        border=2,
        xmldecl=False,
        svgns=True,
        title=f"Ticket {attendee.ticket_code}",
        svgclass="ticket__qr",
    )
    return buffer.getvalue().decode()


def venue_location(conference) -> str:
    return ", ".join(p for p in (conference.venue_name, conference.venue_address) if p)


def attendee_ics(attendee: Attendee) -> bytes:
    """The conference as an all-day event, every plenary, and each chosen break-out.

    Every event carries DTSTAMP (RFC 5545 requires it in a METHOD calendar) and the venue's
    full address, so a phone's map finds the place; sessions add their room in front.
    """
    conference = attendee.order.conference
    stamp = timezone.now()
    venue = venue_location(conference)
    cal = Calendar()
    cal.add("prodid", "-//Guildhall//Conference registration//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")

    event = Event()
    event.add("uid", f"conference-{conference.pk}-{attendee.ticket_code}@guildhall")
    event.add("dtstamp", stamp)
    event.add("summary", conference.title)
    event.add("dtstart", conference.start_date)
    # DTEND of an all-day event is exclusive.
    event.add("dtend", conference.end_date + timedelta(days=1))
    event.add("location", venue)
    event.add("description", f"Ticket {attendee.ticket_code}: {ticket_url(attendee)}")
    event.add("url", ticket_url(attendee))
    cal.add_component(event)

    plenaries = conference.sessions.filter(kind=Session.Kind.PLENARY)
    if attendee.ticket_type.day:
        day = attendee.ticket_type.day
        plenaries = [p for p in plenaries if timezone.localtime(p.starts_at).date() == day]
    chosen = [c.session for c in attendee.choices.select_related("session")]
    for session in sorted([*plenaries, *chosen], key=lambda s: (s.starts_at, s.sort_order, s.pk)):
        item = Event()
        item.add("uid", f"session-{session.pk}-{attendee.ticket_code}@guildhall")
        item.add("dtstamp", stamp)
        label = "break-out" if session.is_breakout else "plenary"
        item.add("summary", f"{session.title} ({label})")
        item.add("dtstart", session.starts_at)
        item.add("dtend", session.ends_at)
        item.add("location", ", ".join(p for p in (session.room, venue) if p))
        if session.description:
            item.add("description", session.description)
        cal.add_component(item)
    return cal.to_ical()
