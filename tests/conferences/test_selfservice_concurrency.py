"""Attendees moving break-outs through their links at once, against buyers and each other:
the seat lock lets exactly as many in as there are seats, and nobody deadlocks."""

import threading

import pytest
from django.db import connection

from conferences import selfservice, services
from conferences.models import BreakoutChoice
from conferences.services import AttendeeSpec
from tests.factories import ConferencePageFactory, MemberFactory, SessionFactory, TicketTypeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MOVERS = 12
SEATS = 3


def test_twelve_attendees_racing_for_three_free_seats_get_exactly_three():
    conference = ConferencePageFactory(capacity=1000)
    ticket = TicketTypeFactory(conference=conference)
    full = SessionFactory(conference=conference, title="Popular", capacity=SEATS)
    other = SessionFactory(
        conference=conference, title="Other", capacity=100, starts_at=full.starts_at
    )
    attendees = []
    for n in range(MOVERS):
        order = services.order_create(
            conference_id=conference.pk,
            owner=MemberFactory(),
            attendees=[
                AttendeeSpec(
                    first_name=f"A{n}",
                    last_name="D",
                    email=f"a{n}@x.org",
                    ticket_type_id=ticket.pk,
                    session_ids=[other.pk],
                )
            ],
        )
        services.order_mark_paid(order_id=order.pk, payment_intent_id=f"pi_{n}")
        attendees.append(order.attendees.get())
    start = threading.Barrier(MOVERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def move(attendee) -> None:
        try:
            start.wait()
            while True:
                try:
                    selfservice.attendee_update(
                        attendee_id=attendee.pk,
                        ticket_code=attendee.ticket_code,
                        dietary_needs="",
                        accessibility_needs="",
                        breakouts={full.starts_at: full.pk},
                    )
                except services.RegistrationBusy:
                    continue
                except services.SoldOut:
                    outcome = "full"
                else:
                    outcome = "moved"
                break
        except Exception as error:  # recorded, then asserted on below
            outcome = f"error: {error!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=move, args=(a,)) for a in attendees]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes) == ["full"] * (MOVERS - SEATS) + ["moved"] * SEATS
    assert BreakoutChoice.objects.filter(session=full).count() == SEATS
    # Nobody lost their seat: the ones refused still sit in the other break-out.
    assert BreakoutChoice.objects.filter(session=other).count() == MOVERS - SEATS
