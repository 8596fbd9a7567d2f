"""Every field the portal reads from Stripe is where the pinned `stripe` library's classes say
real Stripe puts it (API version gateway.API_VERSION), and the stand-in puts it there too.

READS lists the paths payments/gateway.py reads (`a.b` a nested object, `data` the items of
a list). Each path is walked through the typed classes of stripe-python (their annotations
are generated from Stripe's OpenAPI spec for the pinned version), then through the JSON the
stand-in answers with.
"""

from __future__ import annotations

import sys
import typing
from typing import Any, ForwardRef

import pytest
import stripe
from stripe._list_object import ListObject

from payments import gateway
from tests.payments.test_gateway import _order_checkout, _subscribed

pytestmark = pytest.mark.django_db

READS: dict[type, list[str]] = {
    stripe.Subscription: [
        "id",
        "status",
        "customer",
        "metadata",
        "cancel_at_period_end",
        "cancel_at",
        "canceled_at",
        "ended_at",
        "cancellation_details.reason",
        "items.data.current_period_start",
        "items.data.current_period_end",
        "items.data.price",
        "latest_invoice",
    ],
    stripe.Invoice: [
        "id",
        "number",
        "status",
        "billing_reason",
        "customer",
        "customer_email",
        "customer_name",
        "parent.subscription_details.subscription",
        "payments.data.is_default",
        "payments.data.payment.payment_intent",
        "amount_due",
        "amount_paid",
        "currency",
        "created",
        "status_transitions.paid_at",
        "lines.data.period.start",
        "lines.data.period.end",
        "period_start",
        "period_end",
        "hosted_invoice_url",
        "invoice_pdf",
    ],
    stripe.checkout.Session: [
        "id",
        "url",
        "status",
        "payment_status",
        "mode",
        "ui_mode",
        "payment_intent",
        "subscription",
        "customer",
        "customer_email",
        "customer_details.email",
        "client_reference_id",
        "metadata",
        "amount_total",
        "currency",
    ],
    stripe.Charge: [
        "id",
        "payment_intent",
        "customer",
        "amount",
        "amount_refunded",
        "refunded",
        "currency",
        "metadata",
        "refunds.data.id",
        "refunds.data.status",
        "refunds.data.amount",
        "refunds.data.created",
    ],
    stripe.Refund: ["id", "status", "amount", "created"],
    stripe.Price: ["id", "unit_amount", "active", "product", "lookup_key"],
    stripe.billing_portal.Configuration: [
        "id",
        "active",
        "metadata",
        *(f"features.{name}.{field}" for name, f in gateway.PORTAL_FEATURES.items() for field in f),
    ],
    stripe.billing_portal.Session: ["url", "configuration"],
    stripe.WebhookEndpoint: ["id", "url", "status", "enabled_events", "api_version"],
    stripe.Account: ["id", "charges_enabled"],
    stripe.Event: ["id", "type", "created", "data.object"],
}


def _classes(annotation: Any, owner: type) -> tuple[list[type], bool]:
    """The stripe classes an annotation names, and whether it is a list of them."""
    found: list[type] = []
    is_list = False
    todo = [annotation]
    while todo:
        item = todo.pop()
        if isinstance(item, ForwardRef):
            name = item.__forward_arg__
            package = owner.__module__.rpartition(".")[0]  # stripe.billing_portal, or stripe
            item = next(
                cls
                for module in (owner.__module__, package, "stripe")
                if (cls := getattr(sys.modules[module], name, None)) is not None
            )
        origin = typing.get_origin(item)
        if origin is ListObject:
            is_list = True
        if origin is not None:
            todo.extend(typing.get_args(item))
        elif isinstance(item, type) and issubclass(item, stripe.StripeObject):
            found.append(item)
    return found, is_list


def _in_library(cls: type, path: str) -> bool:
    current = [cls]
    parts = path.split(".")
    while parts:
        part = parts.pop(0)
        nxt: list[type] = []
        for c in current:
            annotation = c.__annotations__.get(part)
            if annotation is None:
                continue
            classes, is_list = _classes(annotation, c)
            if is_list and parts and parts[0] == "data":
                parts.pop(0)
            nxt.extend(classes)
            if not parts:
                return True
        current = nxt
    return False


@pytest.mark.parametrize(
    ("cls", "path"), [(c, p) for c, paths in READS.items() for p in paths], ids=str
)
def test_the_library_has_each_field_we_read(cls, path):
    assert _in_library(cls, path), f"{cls.__name__} has no {path} in stripe {stripe.VERSION}"


def _has(value: Any, path: str) -> bool:
    head, _, rest = path.partition(".")
    if isinstance(value, dict) and value.get("object") == "list" and head == "data":
        return all(_has(v, rest) for v in value["data"]) and bool(value["data"]) if rest else True
    if not isinstance(value, dict) or head not in value:
        return False
    return _has(value[head], rest) if rest else True


def test_the_stand_in_puts_each_field_where_stripe_does(stripe_standin, settings):
    stripe_standin.webhook_url = settings.SITE_URL + "/stripe/webhook/"
    sub_id = _subscribed(stripe_standin)
    sub = gateway._get(f"/v1/subscriptions/{sub_id}")
    invoice = gateway._get(f"/v1/invoices/{sub['latest_invoice']}", expand=["payments"])
    ref = _order_checkout("fields")
    stripe_standin.pay(ref.id)
    session = gateway._get(f"/v1/checkout/sessions/{ref.id}")
    refund = gateway.refund_payment(
        payment_intent_id=session["payment_intent"], idempotency_key="f"
    )
    charge_id = gateway._get(f"/v1/refunds/{refund.id}")["charge"]
    price_id = sub["items"]["data"][0]["price"]["id"]
    config_id = gateway.portal_configuration_ensure()
    objects = {
        stripe.Subscription: sub,
        stripe.Invoice: invoice,
        stripe.checkout.Session: session,
        stripe.Charge: gateway._get(f"/v1/charges/{charge_id}", expand=["refunds"]),
        stripe.Refund: gateway._get(f"/v1/refunds/{refund.id}"),
        stripe.Price: gateway._get(f"/v1/prices/{price_id}"),
        stripe.billing_portal.Configuration: gateway._get(
            f"/v1/billing_portal/configurations/{config_id}"
        ),
        stripe.WebhookEndpoint: gateway._get("/v1/webhook_endpoints")["data"][0],
        stripe.Account: gateway._get("/v1/account"),
        stripe.Event: stripe_standin.events()[0],
    }
    portal = gateway._client().v1.billing_portal.sessions.create(
        params={"customer": sub["customer"], "configuration": config_id}
    )
    objects[stripe.billing_portal.Session] = portal.to_dict()

    missing = [
        f"{cls.__name__}.{path}"
        for cls, paths in READS.items()
        for path in paths
        if not _has(objects[cls], path)
    ]
    assert missing == []
