"""The gateway against the Stripe stand-in over HTTP: the contract other apps rely on."""

import pytest

from payments import gateway
from payments import services as payments_services
from payments.models import StripeEvent

pytestmark = pytest.mark.django_db


def _order_checkout(key="order-1"):
    return gateway.create_payment_checkout(
        line_items=[{"name": "Conference ticket", "amount_cents": 45000, "quantity": 2}],
        customer_email="guest@example.org",
        metadata={"kind": "test_order", "order": "1"},
        idempotency_key=key,
        success_url="http://127.0.0.1:9/ok?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://127.0.0.1:9/cancel",
    )


def test_payment_checkout_retrieve_and_refund(stripe_standin):
    ref = _order_checkout()
    assert ref.url.startswith(stripe_standin.url)
    assert _order_checkout().id == ref.id  # same idempotency key, same session

    stripe_standin.pay(ref.id)
    session = gateway.retrieve_checkout_session(ref.id)

    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session["amount_total"] == 90000
    assert session.get("metadata") == {"kind": "test_order", "order": "1"}
    refund = gateway.refund_payment(
        payment_intent_id=session.payment_intent,
        amount_cents=45000,
        idempotency_key="order-1-refund-1",
        metadata={"kind": "test_order"},
    )
    assert (refund.status, refund.amount_cents) == ("succeeded", 45000)


def test_payment_checkout_requires_a_kind(stripe_standin):
    with pytest.raises(ValueError, match="kind"):
        gateway.create_payment_checkout(
            line_items=[{"name": "x", "amount_cents": 100, "quantity": 1}],
            customer_email=None,
            metadata={},
            idempotency_key="k",
            success_url="http://127.0.0.1:9/ok",
            cancel_url="http://127.0.0.1:9/cancel",
        )


def test_webhook_routes_checkout_and_refund_to_the_registered_handlers(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    seen = []
    payments_services.register_checkout_handler("test_order", lambda s: seen.append(("paid", s.id)))
    payments_services.register_refund_handler("test_order", lambda c: seen.append(("refund", c.id)))
    ref = _order_checkout("order-2")
    stripe_standin.pay(ref.id)
    session = gateway.retrieve_checkout_session(ref.id)
    gateway.refund_payment(
        payment_intent_id=session.payment_intent, idempotency_key="order-2-refund"
    )
    wanted = {"checkout.session.completed", "charge.refunded"}
    events = [e for e in stripe_standin.events() if e["type"] in wanted]

    for event in events:
        with django_capture_on_commit_callbacks(execute=False):
            assert stripe_webhook(event).status_code == 200
        payments_services.stripe_event_apply(event_id=event["id"])

    assert [kind for kind, _ in seen] == ["paid", "refund"]
    assert seen[0][1] == ref.id
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2


def test_plan_sync_makes_product_and_yearly_price_and_a_new_price_takes_the_lookup_key(
    stripe_standin,
):
    from membership import services
    from tests.factories import PlanFactory

    plan = services.plan_sync_stripe(plan=PlanFactory())
    first = plan.stripe_price_id
    assert services.plan_sync_stripe(plan=plan).stripe_price_id == first  # nothing to change

    plan.yearly_price_cents = 21000
    plan.save()
    assert plan.needs_stripe_sync
    services.plan_sync_stripe(plan=plan)

    client = gateway._client()
    found = client.v1.prices.list(params={"lookup_keys": [plan.lookup_key]})
    assert [p.id for p in found.data] == [plan.stripe_price_id] != [first]
    assert found.data[0].unit_amount == 21000
    assert found.data[0].recurring.interval == "year"
    assert client.v1.prices.retrieve(first).active is False
    assert client.v1.products.retrieve(plan.stripe_product_id).name == "NORM membership: Individual"


def test_confirming_a_new_email_address_updates_the_stripe_customer(
    client, stripe_standin, django_capture_on_commit_callbacks
):
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC

    from membership import services
    from membership.models import Membership
    from membership.tasks import customer_email_sync
    from tests.factories import MemberFactory

    member = MemberFactory(email="old@clinic.example")
    customer_id = services.membership_customer(membership=Membership.objects.get(user=member))
    client.force_login(member)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/email/", {"email": "new@clinic.example", "action_add": ""})
    key = EmailConfirmationHMAC(EmailAddress.objects.get(email="new@clinic.example")).key
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(f"/accounts/confirm-email/{key}/")

    member.refresh_from_db()
    assert member.email == "new@clinic.example"
    # Confirming the address queued the Stripe update (to run after the commit).
    assert any("customer_email_sync" in callback.__code__.co_freevars for callback in queued)
    assert customer_email_sync(member.pk) == 1  # the queued job, as the worker runs it
    assert customer_email_sync(member.pk) == 1  # and again: the same address, no harm
    updates = [
        e["data"]["object"]
        for e in stripe_standin.events("customer.updated")
        if e["data"]["object"]["id"] == customer_id
    ]
    assert updates and updates[-1]["email"] == "new@clinic.example"


def _subscribed(stripe_standin, key="sub-1"):
    """A paid yearly subscription made through the gateway, as joining makes one."""
    _, price_id = gateway.plan_sync(
        product_id=f"guildhall_plan_{key.replace('-', '_')}",
        name="Individual",
        description="",
        active=True,
        amount_cents=19500,
        lookup_key=f"plan-{key}",
        metadata={},
        idempotency_prefix=f"plan-{key}",
    )
    customer_id = gateway.customer_upsert(
        email="member@example.org", name="A Member", metadata={}, idempotency_key=f"cus-{key}"
    )
    ref = gateway.create_subscription_checkout(
        customer_id=customer_id,
        price_id=price_id,
        metadata={"membership": "1"},
        client_reference_id="1",
        idempotency_key=f"checkout-{key}",
        success_url="http://127.0.0.1:9/ok",
        cancel_url="http://127.0.0.1:9/cancel",
    )
    stripe_standin.pay(ref.id)
    subscription_id = gateway.retrieve_checkout_session(ref.id).subscription
    assert subscription_id
    return subscription_id


def test_cancelling_an_ended_subscription_is_done_by_its_code_and_a_re_read(stripe_standin):
    """Stripe answers a second cancel with resource_missing ("No such subscription"), as for an
    id it never knew; the gateway reads the subscription again and is done once it has ended."""
    sub_id = _subscribed(stripe_standin)
    gateway.cancel_subscription(sub_id)

    with pytest.raises(gateway.GatewayError) as again:
        gateway._call(gateway._client().v1.subscriptions.cancel, sub_id)
    assert (again.value.code, again.value.http_status) == ("resource_missing", 404)
    assert "already" not in str(again.value)  # the stand-in words it as Stripe does

    gateway.cancel_subscription(sub_id)  # no error: it has ended
    assert gateway.retrieve_subscription(sub_id).status == "canceled"


def test_cancelling_a_subscription_stripe_never_knew_raises(stripe_standin):
    with pytest.raises(gateway.GatewayError) as missing:
        gateway.cancel_subscription("sub_neverexisted")
    assert missing.value.code == "resource_missing"


def test_a_price_changed_back_gets_a_new_active_price_with_the_lookup_key(stripe_standin):
    """195 -> 205 -> 195: the last sync makes a third price, holding the lookup key; the
    first is not brought back by an idempotency key seen before (it is archived)."""
    client = gateway._client()
    sync = {
        "product_id": "guildhall_plan_back",
        "name": "Individual",
        "description": "",
        "active": True,
        "lookup_key": "plan-back",
        "metadata": {},
        "idempotency_prefix": "plan-back",
    }
    _, first = gateway.plan_sync(amount_cents=19500, **sync)
    _, second = gateway.plan_sync(amount_cents=20500, **sync)
    _, third = gateway.plan_sync(amount_cents=19500, **sync)

    assert len({first, second, third}) == 3
    found = client.v1.prices.list(params={"lookup_keys": ["plan-back"], "active": True})
    assert [(p.id, p.unit_amount, p.active) for p in found.data] == [(third, 19500, True)]
    assert [client.v1.prices.retrieve(p).active for p in (first, second)] == [False, False]
    assert gateway.plan_sync(amount_cents=19500, **sync)[1] == third  # nothing to change
