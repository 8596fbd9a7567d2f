"""Paying and refunding through the Stripe stand-in, with real signed webhooks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conferences import services
from conferences.models import Order
from conferences.services import AttendeeSpec
from payments import services as payments_services
from payments.models import StripeEvent
from tests.factories import ConferencePageFactory, MemberFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db

ORDER_URL = "http://testserver/conferences/orders/X/"


def deliver(stripe_standin, stripe_webhook, django_capture_on_commit_callbacks, types):
    """POST the stand-in's events of these types, signed, twice each, and apply them as the
    worker would (membership's webhook task routes them to our handler)."""
    events = [e for e in stripe_standin.events() if e["type"] in types]
    for event in events + events:
        with django_capture_on_commit_callbacks(execute=False):
            response = stripe_webhook(event)
        assert response.status_code == 200
        payments_services.stripe_event_apply(event_id=event["id"])
    return events


@pytest.fixture
def held_order():
    today = timezone.localdate()
    conference = ConferencePageFactory(
        full_refund_until=today - timedelta(days=1),
        partial_refund_until=today + timedelta(days=10),
        partial_refund_percent=50,
    )
    ticket = TicketTypeFactory(conference=conference)
    owner = MemberFactory()
    return services.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(
                first_name=n, last_name="Diaz", email=f"{n}@x.org", ticket_type_id=ticket.pk
            )
            for n in ("ana", "bo")
        ],
    )


def test_paid_checkout_confirms_the_order_once(
    held_order, stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    url = services.order_checkout_start(
        order=held_order, success_url=ORDER_URL, cancel_url=ORDER_URL
    )
    held_order.refresh_from_db()
    assert url.startswith(stripe_standin.url)
    # A second click reuses the same Checkout Session (idempotency key from the order code).
    assert (
        services.order_checkout_start(order=held_order, success_url=ORDER_URL, cancel_url=ORDER_URL)
        == url
    )

    stripe_standin.pay(held_order.stripe_checkout_session_id, card="4242424242424242")
    deliver(
        stripe_standin,
        stripe_webhook,
        django_capture_on_commit_callbacks,
        {"checkout.session.completed"},
    )
    paid_at = Order.objects.get(pk=held_order.pk).paid_at
    deliver(
        stripe_standin,
        stripe_webhook,
        django_capture_on_commit_callbacks,
        {"checkout.session.completed"},
    )

    order = Order.objects.get(pk=held_order.pk)
    assert order.paid_at == paid_at  # the repeats changed nothing
    assert order.status == Order.Status.PAID
    assert order.stripe_payment_intent_id.startswith("pi_")
    assert order.total_cents == 2 * 49_500


def test_a_payment_of_another_amount_confirms_nothing_and_parks_its_event(
    held_order, stripe_standin, stripe_webhook, django_capture_on_commit_callbacks, caplog, settings
):
    settings.STRIPE_EVENT_MAX_ATTEMPTS = 2
    services.order_checkout_start(order=held_order, success_url=ORDER_URL, cancel_url=ORDER_URL)
    held_order.refresh_from_db()
    # Stripe charges what the Checkout Session was opened for; the order now costs less.
    Order.objects.filter(pk=held_order.pk).update(total_cents=held_order.total_cents - 100)
    stripe_standin.pay(held_order.stripe_checkout_session_id, card="4242424242424242")
    (event,) = [e for e in stripe_standin.events() if e["type"] == "checkout.session.completed"]
    with django_capture_on_commit_callbacks(execute=False):
        assert stripe_webhook(event).status_code == 200

    for _ in range(2):
        with pytest.raises(services.PaymentAmountMismatch):
            payments_services.stripe_event_apply(event_id=event["id"])

    order = Order.objects.get(pk=held_order.pk)
    assert order.status == Order.Status.HELD
    assert order.paid_at is None
    assert not order.stripe_payment_intent_id
    stored = StripeEvent.objects.get(pk=event["id"])
    assert stored.processed_at is None
    assert stored.failed_at is not None  # parked, listed for staff
    assert "PaymentAmountMismatch" in stored.error
    assert f"not applied: Stripe reports $990.00 paid for order {order.code}" in caplog.text
    assert payments_services.stripe_event_apply(event_id=event["id"]) is False


def test_mark_paid_refuses_an_amount_that_is_not_the_order_total(held_order):
    with pytest.raises(services.PaymentAmountMismatch, match="not confirmed"):
        services.order_mark_paid(order_id=held_order.pk, amount_cents=held_order.total_cents + 1)
    assert Order.objects.get(pk=held_order.pk).status == Order.Status.HELD

    order = services.order_mark_paid(order_id=held_order.pk, amount_cents=held_order.total_cents)
    assert order.status == Order.Status.PAID


def test_canceling_refunds_by_policy_through_stripe(
    held_order, stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    services.order_checkout_start(order=held_order, success_url=ORDER_URL, cancel_url=ORDER_URL)
    held_order.refresh_from_db()
    stripe_standin.pay(held_order.stripe_checkout_session_id, card="4242424242424242")
    deliver(
        stripe_standin,
        stripe_webhook,
        django_capture_on_commit_callbacks,
        {"checkout.session.completed"},
    )

    with django_capture_on_commit_callbacks(execute=False):
        services.order_cancel(order_id=held_order.pk, by_user=held_order.owner)
    refund = held_order.refunds.get()
    services.refund_send(refund_id=refund.pk)
    services.refund_send(refund_id=refund.pk)  # a retried task refunds nothing more

    refund.refresh_from_db()
    assert held_order.__class__.objects.get(pk=held_order.pk).status == Order.Status.CANCELED
    assert refund.amount_cents == 49_500  # half of two tickets: the partial-refund window
    assert refund.stripe_refund_id.startswith("re_")
    refunds = stripe_standin.events("charge.refunded")
    assert len(refunds) == 1
