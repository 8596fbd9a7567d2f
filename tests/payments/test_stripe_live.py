"""Against Stripe's test mode, when STRIPE_SECRET_KEY is a real test key (never in CI here).

Small on purpose: what the stand-in imitates and a real account can confirm without a browser:
plans become a Product and a yearly Price found by lookup key, a Customer, a subscription
Checkout Session with Stripe's hosted URL, and the session read back.
"""

import uuid

import pytest

from payments import gateway

pytestmark = [pytest.mark.stripe_live, pytest.mark.django_db]


def test_plan_customer_and_checkout_on_stripe_test_mode():
    run = uuid.uuid4().hex[:10]
    product_id, price_id = gateway.plan_sync(
        product_id=f"guildhall_live_test_{run}",
        name=f"Guildhall live test {run}",
        description="Created by the stripe_live test suite; safe to archive.",
        active=True,
        amount_cents=19500,
        lookup_key=f"guildhall-live-test-{run}",
        metadata={"test": run},
        idempotency_prefix=f"live-{run}",
    )
    again = gateway.plan_sync(
        product_id=product_id,
        name=f"Guildhall live test {run}",
        description="",
        active=True,
        amount_cents=19500,
        lookup_key=f"guildhall-live-test-{run}",
        metadata={"test": run},
        idempotency_prefix=f"live-{run}",
    )
    assert again == (product_id, price_id)
    customer = gateway.customer_upsert(
        email=f"live-{run}@example.org", name="Live Test", metadata={}, idempotency_key=f"c-{run}"
    )

    ref = gateway.create_subscription_checkout(
        customer_id=customer,
        price_id=price_id,
        metadata={"membership": "0"},
        client_reference_id=f"live-{run}",
        idempotency_key=f"cs-{run}",
        success_url="https://example.org/ok?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://example.org/cancel",
    )

    assert ref.url.startswith("https://checkout.stripe.com/")
    session = gateway.retrieve_checkout_session(ref.id)
    assert (session.status, session.mode) == ("open", "subscription")
    assert session.metadata["kind"] == "membership"
