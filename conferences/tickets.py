"""What an attendee carries: a calendar file and a QR code that opens their ticket."""

from __future__ import annotations

import io
from datetime import timedelta

import segno
from django.conf import settings
from django.urls import reverse
from icalendar import Calendar, Event

from .models import Attendee


def ticket_url(attendee: Attendee) -> str:
    """The address the QR code holds. Staff scanning it land on the check-in screen for this
    ticket; the attendee opening it sees their ticket."""
    return settings.SITE_URL + reverse("conferences:ticket", args=[attendee.ticket_code])


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


def attendee_ics(attendee: Attendee) -> bytes:
    """The conference as all-day event plus each chosen break-out with its room."""
    conference = attendee.order.conference
    cal = Calendar()
    cal.add("prodid", "-//Guildhall//Conference registration//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")

    event = Event()
    event.add("uid", f"conference-{conference.pk}-{attendee.ticket_code}@guildhall")
    event.add("summary", conference.title)
    event.add("dtstart", conference.start_date)
    # DTEND of an all-day event is exclusive.
    event.add("dtend", conference.end_date + timedelta(days=1))
    event.add(
        "location", ", ".join(p for p in (conference.venue_name, conference.venue_address) if p)
    )
    event.add("description", f"Ticket {attendee.ticket_code}: {ticket_url(attendee)}")
    event.add("url", ticket_url(attendee))
    cal.add_component(event)

    for choice in attendee.choices.select_related("session").order_by("slot_starts_at"):
        session = choice.session
        item = Event()
        item.add("uid", f"session-{session.pk}-{attendee.ticket_code}@guildhall")
        item.add("summary", f"{session.title} (break-out)")
        item.add("dtstart", session.starts_at)
        item.add("dtend", session.ends_at)
        item.add("location", session.room or conference.venue_name)
        if session.description:
            item.add("description", session.description)
        cal.add_component(item)
    return cal.to_ical()
