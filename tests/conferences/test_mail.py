"""Ticket, receipt and waitlist mail: sent once however often a task runs."""

import pytest
from django.core import mail

from conferences import services, tasks
from conferences.models import WaitlistEntry
from conferences.services import AttendeeSpec
from tests.factories import ConferencePageFactory, MemberFactory, TicketTypeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_confirmation_mails_go_once_even_when_the_task_runs_twice():
    conference = ConferencePageFactory()
    ticket = TicketTypeFactory(conference=conference)
    order = services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(email="owner@x.org"),
        attendees=[
            AttendeeSpec(first_name=n, last_name="D", email=f"{n}@x.org", ticket_type_id=ticket.pk)
            for n in ("ana", "bo")
        ],
    )
    services.order_mark_paid(order_id=order.pk)

    tasks.send_order_confirmation(order.pk)
    tasks.send_order_confirmation(order.pk)

    assert sorted(m.to[0] for m in mail.outbox) == ["ana@x.org", "bo@x.org", "owner@x.org"]
    ticket_mail = next(m for m in mail.outbox if m.to == ["ana@x.org"])
    # The calendar file is attached; the QR code is shown inline (tests/conferences/
    # test_attendee_link.py checks the message's structure).
    assert [a[2] for a in ticket_mail.attachments] == ["text/calendar"]
    assert len(ticket_mail.inline_images) == 1
    assert ticket_mail.alternatives[0][1] == "text/html"
    receipt = next(m for m in mail.outbox if m.to == ["owner@x.org"])
    assert "$990.00" in receipt.body


def test_substitute_gets_a_ticket_of_their_own():
    conference = ConferencePageFactory()
    ticket = TicketTypeFactory(conference=conference)
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(first_name="A", last_name="B", email="a@x.org", ticket_type_id=ticket.pk)
        ],
    )
    services.order_mark_paid(order_id=order.pk)
    attendee = order.attendees.get()
    tasks.send_attendee_ticket(attendee.pk)

    services.attendee_substitute(
        attendee_id=attendee.pk, by_user=owner, first_name="C", last_name="D", email="c@x.org"
    )
    tasks.send_attendee_ticket(attendee.pk)

    assert [m.to for m in mail.outbox] == [["a@x.org"], ["c@x.org"]]


def test_waitlist_offer_mail_links_to_the_held_seat():
    conference = ConferencePageFactory(capacity=1)
    ticket = TicketTypeFactory(conference=conference)
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(first_name="A", last_name="B", email="a@x.org", ticket_type_id=ticket.pk)
        ],
    )
    entry = services.waitlist_join(ticket_type_id=ticket.pk, user=UserFactory(email="w@x.org"))
    services.order_cancel(order_id=order.pk, by_user=owner)
    services.waitlist_offer_seats(conference_id=conference.pk)

    tasks.send_waitlist_offer(entry.pk)
    tasks.send_waitlist_offer(entry.pk)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert len(mail.outbox) == 1
    assert f"/conferences/waitlist/offers/{entry.token}/" in mail.outbox[0].body


def test_a_failed_send_gives_the_claim_back_so_the_retry_sends(settings):
    from conferences.models import SentMail
    from tests.conftest import free_port

    conference = ConferencePageFactory()
    ticket = TicketTypeFactory(conference=conference)
    order = services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[
            AttendeeSpec(first_name="A", last_name="B", email="a@x.org", ticket_type_id=ticket.pk)
        ],
    )
    services.order_mark_paid(order_id=order.pk)
    attendee = order.attendees.get()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens

    with pytest.raises(OSError):
        tasks.send_attendee_ticket.run(attendee.pk)
    assert not SentMail.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tasks.send_attendee_ticket.run(attendee.pk)
    assert [m.to for m in mail.outbox] == [["a@x.org"]]
