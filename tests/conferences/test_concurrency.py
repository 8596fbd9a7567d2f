"""Many buyers at once for the last seats of a break-out, each on its own connection."""

import threading

import pytest
from django.db import connection

from conferences import services
from conferences.models import PAID, BreakoutChoice, Order
from conferences.services import AttendeeSpec
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BUYERS = 60
SEATS = 40
ALREADY_TAKEN = 30  # so the crowd fights over the last 10


def test_sixty_concurrent_checkouts_for_the_last_ten_seats_confirm_exactly_ten():
    conference = ConferencePageFactory(capacity=1000)
    ticket = TicketTypeFactory(conference=conference)
    breakout = SessionFactory(conference=conference, title="Prior authorisations", capacity=SEATS)
    for n in range(ALREADY_TAKEN):
        order = services.order_create(
            conference_id=conference.pk,
            owner=MemberFactory(),
            attendees=[_spec(ticket, breakout, n)],
        )
        services.order_mark_paid(order_id=order.pk, payment_intent_id=f"pi_early_{n}")
    buyers = [UserFactory() for _ in range(BUYERS)]
    start = threading.Barrier(BUYERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(index: int) -> None:
        try:
            start.wait()
            while True:
                try:
                    order = services.order_create(
                        conference_id=conference.pk,
                        owner=buyers[index],
                        attendees=[_spec(ticket, breakout, 1000 + index)],
                    )
                except services.RegistrationBusy:
                    continue  # a real buyer clicks again
                except services.SoldOut as error:
                    outcome = f"sold out: {error}"
                else:
                    services.order_mark_paid(order_id=order.pk, payment_intent_id=f"pi_{index}")
                    outcome = "confirmed"
                break
        except Exception as error:  # recorded, then asserted on below
            outcome = f"error: {error!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(outcomes) == BUYERS
    assert [o for o in outcomes if o.startswith("error")] == []
    assert outcomes.count("confirmed") == SEATS - ALREADY_TAKEN
    assert {o for o in outcomes if o != "confirmed"} == {
        "sold out: The break-out “Prior authorisations” is sold out."
    }
    assert (
        BreakoutChoice.objects.filter(session=breakout, attendee__order__status=PAID).count()
        == SEATS
    )
    assert Order.objects.filter(status=PAID).count() == SEATS


def _spec(ticket, session, n):
    return AttendeeSpec(
        first_name=f"Buyer{n}",
        last_name="Test",
        email=f"buyer{n}@clinic.example",
        ticket_type_id=ticket.pk,
        session_ids=[session.pk],
    )
