"""Pricing, capacity, holds, payment confirmation, cancellation and check-in, on the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conferences import services
from conferences.models import BreakoutChoice, Order, WaitlistEntry
from tests.conferences.conftest import spec
from tests.factories import (
    ConferencePageFactory,
    DiscountCodeFactory,
    MemberFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_non_member_pays_non_member_price_and_member_pays_member_price(conference, full_ticket):
    outsider = services.order_create(
        conference_id=conference.pk, owner=UserFactory(), attendees=[spec(full_ticket)]
    )
    member = services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(full_ticket)]
    )

    assert (outsider.price_tier, outsider.total_cents) == ("non_member", 69_500)
    assert (member.price_tier, member.total_cents) == ("member", 49_500)


def test_checkout_sees_staff_changes_to_prices_break_outs_and_registration_at_once(
    conference, full_ticket
):
    # Checkouts read the catalogue from a per-process cache; saving must refresh it.
    services.order_create(
        conference_id=conference.pk, owner=UserFactory(), attendees=[spec(full_ticket)]
    )
    full_ticket.non_member_price_cents = 70_000
    full_ticket.save()
    breakout = SessionFactory(conference=conference, capacity=5)

    order = services.order_create(
        conference_id=conference.pk, owner=UserFactory(), attendees=[spec(full_ticket, breakout)]
    )
    assert order.total_cents == 70_000
    assert order.attendees.get().choices.get().session == breakout

    conference.registration_open = False
    conference.save()
    with pytest.raises(services.RegistrationError, match="closed"):
        services.order_create(
            conference_id=conference.pk, owner=UserFactory(), attendees=[spec(full_ticket)]
        )


def test_early_bird_price_applies_until_its_deadline(conference):
    ticket = TicketTypeFactory(
        conference=conference,
        early_bird_member_price_cents=39_500,
        early_bird_non_member_price_cents=59_500,
        early_bird_until=timezone.now() + timedelta(days=1),
    )
    late = TicketTypeFactory(
        conference=conference,
        early_bird_member_price_cents=1,
        early_bird_until=timezone.now() - timedelta(minutes=1),
    )
    order = services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(ticket), spec(late)]
    )

    assert [a.price_cents for a in order.attendees.all()] == [39_500, 49_500]


def test_percent_code_limited_to_one_ticket_type(conference, full_ticket):
    guest = TicketTypeFactory(conference=conference, name="Guest", member_price_cents=10_000)
    code = DiscountCodeFactory(conference=conference, code="staff25", kind="percent", value=25)
    code.ticket_types.add(full_ticket)

    order = services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[spec(full_ticket), spec(guest, name="Bo")],
        discount_code="STAFF25",
    )

    assert order.subtotal_cents == 59_500
    assert order.discount_cents == 49_500 // 4
    assert order.total_cents == 59_500 - 49_500 // 4


def test_code_refused_when_used_up_or_expired(conference, full_ticket):
    DiscountCodeFactory(conference=conference, code="ONCE", kind="amount", value=5_000, max_uses=1)
    DiscountCodeFactory(
        conference=conference, code="OLD", valid_until=timezone.now() - timedelta(days=1)
    )
    services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[spec(full_ticket)],
        discount_code="once",
    )
    owner = MemberFactory()

    with pytest.raises(services.RegistrationError, match="used up"):
        services.order_create(
            conference_id=conference.pk,
            owner=owner,
            attendees=[spec(full_ticket)],
            discount_code="ONCE",
        )
    with pytest.raises(services.RegistrationError, match="expired"):
        services.order_create(
            conference_id=conference.pk,
            owner=owner,
            attendees=[spec(full_ticket)],
            discount_code="OLD",
        )


def test_full_discount_confirms_without_payment(conference, full_ticket):
    DiscountCodeFactory(conference=conference, code="COMP", kind="percent", value=100)

    order = services.order_create(
        conference_id=conference.pk,
        owner=StaffFactory(),
        attendees=[spec(full_ticket)],
        discount_code="COMP",
    )

    assert (order.status, order.total_cents) == (Order.Status.PAID, 0)


def test_ticket_type_capacity_says_sold_out(conference):
    ticket = TicketTypeFactory(conference=conference, name="Exhibitor", capacity=2)
    services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(ticket), spec(ticket)]
    )

    with pytest.raises(services.SoldOut, match="Exhibitor is sold out") as error:
        services.order_create(
            conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(ticket)]
        )
    assert error.value.ticket_type == ticket


def test_group_larger_than_seats_left_is_told_how_many_remain(conference, full_ticket):
    breakout = SessionFactory(conference=conference, title="Coding clinic", capacity=2)
    owner = MemberFactory()

    with pytest.raises(services.SoldOut, match="“Coding clinic” has only 2 seats left"):
        services.order_create(
            conference_id=conference.pk,
            owner=owner,
            attendees=[spec(full_ticket, breakout, name=n) for n in ("Ana", "Bo", "Cy")],
        )
    assert not Order.objects.exists()


def test_conference_capacity_counts_every_ticket_type():
    conference = ConferencePageFactory(capacity=2)
    a = TicketTypeFactory(conference=conference)
    b = TicketTypeFactory(conference=conference, name="Guest")
    services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(a), spec(b)]
    )

    with pytest.raises(services.SoldOut, match="The conference is sold out"):
        services.order_create(
            conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(b)]
        )


def test_one_breakout_per_time_slot(conference, full_ticket):
    first = SessionFactory(conference=conference)
    parallel = SessionFactory(conference=conference, starts_at=first.starts_at)

    with pytest.raises(services.RegistrationError, match="one break-out per time slot"):
        services.order_create(
            conference_id=conference.pk,
            owner=MemberFactory(),
            attendees=[spec(full_ticket, first, parallel)],
        )


def test_one_day_ticket_cannot_pick_the_other_days_breakout(conference):
    day_one = TicketTypeFactory(conference=conference, kind="day", day=conference.start_date)
    day_two_session = SessionFactory(
        conference=conference, starts_at=timezone.now() + timedelta(days=61, hours=2)
    )

    with pytest.raises(services.RegistrationError, match="does not include"):
        services.order_create(
            conference_id=conference.pk,
            owner=MemberFactory(),
            attendees=[spec(day_one, day_two_session)],
        )


def test_expired_hold_frees_the_breakout_seat(
    conference, full_ticket, django_capture_on_commit_callbacks
):
    breakout = SessionFactory(conference=conference, capacity=1)
    order = services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(full_ticket, breakout)]
    )
    assert order.status == Order.Status.HELD
    assert order.hold_expires_at == pytest.approx(
        timezone.now() + timedelta(minutes=30), abs=timedelta(seconds=5)
    )
    with pytest.raises(services.SoldOut):
        services.order_create(
            conference_id=conference.pk,
            owner=UserFactory(),
            attendees=[spec(full_ticket, breakout)],
        )

    with django_capture_on_commit_callbacks(execute=True):
        assert services.order_expire_holds(now=timezone.now() + timedelta(minutes=31)) == 1

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    second = services.order_create(
        conference_id=conference.pk, owner=UserFactory(), attendees=[spec(full_ticket, breakout)]
    )
    assert second.status == Order.Status.HELD


def test_mark_paid_is_idempotent(conference, full_ticket, django_capture_on_commit_callbacks):
    order = services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(full_ticket)]
    )
    with django_capture_on_commit_callbacks() as callbacks:
        services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_1")
        services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_1")

    order.refresh_from_db()
    assert (order.status, order.stripe_payment_intent_id) == (Order.Status.PAID, "pi_1")
    assert len(callbacks) == 1  # one confirmation mail task, not two


def test_payment_after_lapsed_hold_retakes_free_seats(conference, full_ticket):
    order = services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(full_ticket)]
    )
    services.order_expire_holds(now=timezone.now() + timedelta(hours=1))

    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_late")

    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_payment_after_lapsed_hold_with_seat_gone_is_refunded(full_ticket):
    conference = full_ticket.conference
    breakout = SessionFactory(conference=conference, capacity=1)
    order = services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(full_ticket, breakout)]
    )
    services.order_expire_holds(now=timezone.now() + timedelta(hours=1))
    services.order_create(
        conference_id=conference.pk, owner=UserFactory(), attendees=[spec(full_ticket, breakout)]
    )

    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_late")

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert order.refunds.get().amount_cents == order.total_cents
    assert (
        BreakoutChoice.objects.filter(
            session=breakout, attendee__order__status=Order.Status.PAID
        ).count()
        <= 1
    )


@pytest.mark.parametrize(
    ("days_before_full", "days_before_partial", "expected"),
    [(5, 10, 100), (-5, 10, 50), (-10, -5, 0)],
)
def test_cancellation_refund_follows_policy(days_before_full, days_before_partial, expected):
    today = timezone.localdate()
    conference = ConferencePageFactory(
        full_refund_until=today + timedelta(days=days_before_full),
        partial_refund_until=today + timedelta(days=days_before_partial),
        partial_refund_percent=50,
    )
    ticket = TicketTypeFactory(conference=conference)
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(ticket)]
    )
    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_x")

    services.order_cancel(order_id=order.pk, by_user=owner)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert order.refunded_cents == 49_500 * expected // 100


def test_only_owner_or_staff_may_cancel(conference, full_ticket):
    order = services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(full_ticket)]
    )
    with pytest.raises(PermissionError):
        services.order_cancel(order_id=order.pk, by_user=UserFactory())


def test_released_seat_is_offered_to_the_waitlist_for_48_hours(django_capture_on_commit_callbacks):
    conference = ConferencePageFactory(capacity=1)
    ticket = TicketTypeFactory(conference=conference)
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(ticket)]
    )
    waiting = UserFactory()
    entry = services.waitlist_join(ticket_type_id=ticket.pk, user=waiting)
    assert services.waitlist_offer_seats(conference_id=conference.pk) == []

    services.order_cancel(order_id=order.pk, by_user=owner)
    offered = services.waitlist_offer_seats(conference_id=conference.pk)

    assert offered == [entry]
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert entry.offer_expires_at == pytest.approx(
        timezone.now() + timedelta(hours=48), abs=timedelta(seconds=5)
    )
    # The offered seat is kept for the person offered, not for whoever is quickest.
    with pytest.raises(services.SoldOut):
        services.order_create(
            conference_id=conference.pk, owner=UserFactory(), attendees=[spec(ticket)]
        )
    taken = services.order_create(
        conference_id=conference.pk,
        owner=waiting,
        attendees=[spec(ticket)],
        waitlist_token=entry.token,
    )
    assert taken.status == Order.Status.HELD
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.ACCEPTED


def test_lapsed_offer_passes_to_the_next_person():
    conference = ConferencePageFactory(capacity=1)
    ticket = TicketTypeFactory(conference=conference)
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(ticket)]
    )
    first = services.waitlist_join(ticket_type_id=ticket.pk, user=UserFactory())
    second = services.waitlist_join(ticket_type_id=ticket.pk, user=UserFactory())
    services.order_cancel(order_id=order.pk, by_user=owner)
    services.waitlist_offer_seats(conference_id=conference.pk)

    assert services.waitlist_lapse_offers(now=timezone.now() + timedelta(hours=49)) == 1
    services.waitlist_offer_seats(conference_id=conference.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (
        WaitlistEntry.Status.LAPSED,
        WaitlistEntry.Status.OFFERED,
    )


def test_check_in_twice_reports_already_checked_in(conference, full_ticket):
    order = services.order_create(
        conference_id=conference.pk, owner=MemberFactory(), attendees=[spec(full_ticket)]
    )
    staff = StaffFactory()
    code = order.attendees.get().ticket_code
    with pytest.raises(services.RegistrationError, match="awaiting payment"):
        services.attendee_check_in(conference_id=conference.pk, ticket_code=code, by_user=staff)
    services.order_mark_paid(order_id=order.pk)

    first = services.attendee_check_in(
        conference_id=conference.pk, ticket_code=code.lower(), by_user=staff
    )
    again = services.attendee_check_in(conference_id=conference.pk, ticket_code=code, by_user=staff)

    assert (first.already, again.already) == (False, True)
    assert again.attendee.checked_in_by == staff


def test_substitution_gives_a_new_ticket_code_until_the_cutoff(full_ticket):
    conference = full_ticket.conference
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket)]
    )
    services.order_mark_paid(order_id=order.pk)
    attendee = order.attendees.get()
    old_code = attendee.ticket_code

    swapped = services.attendee_substitute(
        attendee_id=attendee.pk, by_user=owner, first_name="Cy", last_name="Ng", email="cy@x.org"
    )
    assert (swapped.full_name, swapped.email) == ("Cy Ng", "cy@x.org")
    assert swapped.ticket_code != old_code

    conference.substitution_cutoff = timezone.localdate() - timedelta(days=1)
    conference.save()
    with pytest.raises(services.RegistrationError, match="deadline"):
        services.attendee_substitute(
            attendee_id=attendee.pk, by_user=owner, first_name="D", last_name="E", email="d@x.org"
        )


def test_sold_out_note_answers_the_crowd_and_is_dropped_when_a_seat_frees(
    conference, full_ticket, django_capture_on_commit_callbacks, django_assert_num_queries
):
    breakout = SessionFactory(conference=conference, capacity=1)
    owner = MemberFactory()
    first = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket, breakout)]
    )
    with pytest.raises(services.SoldOut):
        services.order_create(
            conference_id=conference.pk,
            owner=UserFactory(),
            attendees=[spec(full_ticket, breakout)],
        )
    late = UserFactory()

    with django_assert_num_queries(0), pytest.raises(services.SoldOut, match="sold out"):
        services.order_create(
            conference_id=conference.pk, owner=late, attendees=[spec(full_ticket, breakout)]
        )

    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order_id=first.pk, by_user=owner)
    again = services.order_create(
        conference_id=conference.pk, owner=late, attendees=[spec(full_ticket, breakout)]
    )
    assert again.status == Order.Status.HELD


def test_breakout_waitlist_moves_the_attendee_when_a_seat_frees(conference, full_ticket):
    full = SessionFactory(conference=conference, title="Coding clinic", capacity=1)
    parallel = SessionFactory(conference=conference, starts_at=full.starts_at, capacity=10)
    holder_owner = MemberFactory()
    holder = services.order_create(
        conference_id=conference.pk, owner=holder_owner, attendees=[spec(full_ticket, full)]
    )
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket, parallel)]
    )
    services.order_mark_paid(order_id=order.pk)
    attendee = order.attendees.get()
    entry = services.waitlist_join_breakout(
        attendee_id=attendee.pk, session_id=full.pk, by_user=owner
    )
    with pytest.raises(PermissionError):
        services.waitlist_join_breakout(
            attendee_id=attendee.pk, session_id=full.pk, by_user=UserFactory()
        )
    assert services.waitlist_offer_seats(conference_id=conference.pk) == []

    services.order_cancel(order_id=holder.pk, by_user=holder_owner)
    assert services.waitlist_offer_seats(conference_id=conference.pk) == [entry]
    # The freed seat is kept for the attendee offered it, not for the next buyer.
    with pytest.raises(services.SoldOut):
        services.order_create(
            conference_id=conference.pk, owner=UserFactory(), attendees=[spec(full_ticket, full)]
        )
    entry.refresh_from_db()
    services.attendee_take_breakout_offer(token=entry.token, by_user=owner)

    assert [c.session for c in attendee.choices.all()] == [full]
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.ACCEPTED


def test_payment_for_an_order_canceled_before_paying_is_refunded(conference, full_ticket):
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket)]
    )
    services.order_cancel(order_id=order.pk, by_user=owner)

    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_after_cancel")
    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_after_cancel")

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert order.refunds.get().amount_cents == order.total_cents
