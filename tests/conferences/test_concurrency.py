"""Many buyers at once, each on its own connection: for the last seats of a break-out, with
one account's double clicks, and for the last uses of an access code."""

import threading

import pytest
from django.db import connection

from conferences import services
from conferences.models import BreakoutChoice, Order
from conferences.services import AttendeeSpec
from tests.factories import (
    AccessCodeFactory,
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
        BreakoutChoice.objects.filter(
            session=breakout, attendee__order__status=Order.Status.PAID
        ).count()
        == SEATS
    )
    assert Order.objects.filter(status=Order.Status.PAID).count() == SEATS


def test_one_account_checking_out_many_times_at_once_gets_one_unpaid_order():
    conference = ConferencePageFactory(capacity=1000)
    ticket = TicketTypeFactory(conference=conference)
    breakout = SessionFactory(conference=conference, capacity=60)
    owner = UserFactory()

    outcomes = _race(
        12,
        lambda i: services.order_create(
            conference_id=conference.pk,
            owner=owner,
            attendees=[_spec(ticket, breakout, i * 10 + n) for n in range(5)],
        ),
    )

    assert outcomes.count("ok") == 1
    assert {o for o in outcomes if o != "ok"} == {"UnpaidOrderExists"}
    assert list(Order.objects.values_list("status", flat=True)) == [Order.Status.HELD]
    assert BreakoutChoice.objects.filter(session=breakout).count() == 5


def test_concurrent_checkouts_never_take_an_access_code_past_its_uses():
    conference = ConferencePageFactory(capacity=1000)
    exhibitor = TicketTypeFactory(
        conference=conference,
        name="Exhibitor",
        member_price_cents=0,
        non_member_price_cents=0,
        includes_breakouts=False,
        requires_code=True,
    )
    code = AccessCodeFactory(conference=conference, ticket_types=[exhibitor], max_uses=5)
    buyers = [UserFactory() for _ in range(20)]

    outcomes = _race(
        20,
        lambda i: services.order_create(
            conference_id=conference.pk,
            owner=buyers[i],
            attendees=[_spec(exhibitor, None, i)],
            access_code=code.code,
        ),
    )

    assert outcomes.count("ok") == 5
    assert {o for o in outcomes if o != "ok"} == {"RegistrationError"}
    assert Order.objects.filter(access_code=code, status=Order.Status.PAID).count() == 5


def _race(n: int, attempt) -> list[str]:
    """Run attempt(i) on n threads released together; each outcome is "ok" or the name of
    the registration error it raised (a busy lock is clicked again, as a buyer would)."""
    start = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            start.wait()
            while True:
                try:
                    attempt(index)
                except services.RegistrationBusy:
                    continue
                except services.RegistrationError as error:
                    outcome = type(error).__name__
                else:
                    outcome = "ok"
                break
        except Exception as error:  # recorded, then asserted on by the caller
            outcome = f"error: {error!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == n
    return outcomes


def _spec(ticket, session, n):
    return AttendeeSpec(
        first_name=f"Buyer{n}",
        last_name="Test",
        email=f"buyer{n}@clinic.example",
        ticket_type_id=ticket.pk,
        session_ids=[session.pk] if session else [],
    )


def test_a_seat_lock_held_elsewhere_answers_busy_and_writes_nothing(settings):
    # The checkout sends its lock timeout, the lock and the count in one round trip
    # (capacity.lock_and_count); a lock that stays taken must still end as RegistrationBusy.
    import psycopg

    settings.CONFERENCE_LOCK_TIMEOUT_MS = 200
    conference = ConferencePageFactory(capacity=10)
    ticket = TicketTypeFactory(conference=conference)
    breakout = SessionFactory(conference=conference, capacity=5)
    params = connection.get_connection_params()
    with psycopg.connect(**params) as other:
        other.execute(
            "SELECT 1 FROM conferences_conferencepage WHERE page_ptr_id = %s FOR NO KEY UPDATE",
            [conference.pk],
        )
        with pytest.raises(services.RegistrationBusy):
            services.order_create(
                conference_id=conference.pk,
                owner=UserFactory(),
                attendees=[_spec(ticket, breakout, 0)],
            )
        other.rollback()
    assert not Order.objects.filter(conference_id=conference.pk).exists()

    order = services.order_create(
        conference_id=conference.pk, owner=UserFactory(), attendees=[_spec(ticket, breakout, 1)]
    )
    assert order.status == Order.Status.HELD
