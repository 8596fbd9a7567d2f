"""Stripe, behind one door: the only module in the portal that imports `stripe`.

Contract for other apps (conferences calls these; keep the signatures):

    create_payment_checkout(*, line_items=[{"name", "amount_cents", "quantity"}], currency="usd",
                            customer_email, metadata, idempotency_key, success_url, cancel_url)
        -> CheckoutSessionRef(id, url)
        A Checkout Session in payment mode. `metadata["kind"]` is required: it names the app
        that owns the purchase (e.g. "conference_order") and routes the webhook back to it.
        The metadata is copied to the PaymentIntent, so refunds route the same way.
        `success_url` may contain Stripe's `{CHECKOUT_SESSION_ID}` placeholder.

    retrieve_checkout_session(session_id) -> CheckoutSessionData
        Attributes (also readable as data["id"], data.get(...)): id, status
        (CheckoutSessionStatus), payment_status (CheckoutPaymentStatus), payment_intent, metadata,
        amount_total, currency, mode, customer, customer_email, subscription, client_reference_id.

    refund_payment(*, payment_intent_id, amount_cents=None, idempotency_key, metadata)
        -> RefundRef(id, status (RefundStatus), amount_cents)   (amount_cents None: the remainder)

    Webhooks: `construct_event` verifies one; `payments.services` stores it, re-reads its object
    through this module and routes it by `metadata["kind"]` to the handler an app registered
    in its AppConfig.ready() (`payments.services.register_checkout_handler` and friends).

    Errors: every Stripe failure is raised as `GatewayError` (with `.user_message` when the
    message is fit to show, e.g. a card error), so callers never catch `stripe.*` types.

The API version is pinned (`API_VERSION`). With the stand-in's key (the default,
"sk_test_standin") requests go to `settings.STRIPE_API_BASE`, the local stand-in in
devtools/stripe_standin/; with a real key they go to Stripe. Settings are read on each call, so
tests may override them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.db import models

from portal.retry import StripeFailure

log = logging.getLogger(__name__)

API_VERSION = "2026-10-28.endive"
MEMBERSHIP_KIND = "membership"

__all__ = [
    "API_VERSION",
    "RESOURCE_MISSING",
    "CancellationReason",
    "ChargeData",
    "CheckoutPaymentStatus",
    "CheckoutSessionData",
    "CheckoutSessionRef",
    "CheckoutSessionStatus",
    "GatewayError",
    "InvalidEvent",
    "InvalidSignature",
    "InvalidStripeId",
    "InvoiceData",
    "InvoiceStatus",
    "RefundRef",
    "RefundStatus",
    "SubscriptionData",
    "SubscriptionStatus",
    "create_payment_checkout",
    "refund_payment",
    "retrieve_checkout_session",
]


# --- Stripe's vocabularies -----------------------------------------------------------------------
# The values Stripe sends in an object's `status` (and the reasons it gives), spelled as Stripe
# spells them ("canceled"). The value objects below keep plain strings, since Stripe may add a
# value; code compares them with these names, never with literals.


class SubscriptionStatus(models.TextChoices):
    """https://docs.stripe.com/api/subscriptions/object#subscription_object-status"""

    ACTIVE = "active", "Active"
    TRIALING = "trialing", "Trialing"
    PAST_DUE = "past_due", "Past due"
    UNPAID = "unpaid", "Unpaid"
    CANCELED = "canceled", "Canceled"
    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
    PAUSED = "paused", "Paused"


class CancellationReason(models.TextChoices):
    """A subscription's `cancellation_details.reason`."""

    CANCELLATION_REQUESTED = "cancellation_requested", "Canceled by request"
    PAYMENT_DISPUTED = "payment_disputed", "Payment disputed"
    PAYMENT_FAILED = "payment_failed", "Payment failed"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"
    VOID = "void", "Void"


class CheckoutSessionStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETE = "complete", "Complete"
    EXPIRED = "expired", "Expired"


class CheckoutPaymentStatus(models.TextChoices):
    PAID = "paid", "Paid"
    UNPAID = "unpaid", "Unpaid"
    NO_PAYMENT_REQUIRED = "no_payment_required", "No payment required"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    REQUIRES_ACTION = "requires_action", "Requires action"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


# --- errors and value objects -------------------------------------------------------------------


class GatewayError(StripeFailure):
    """A Stripe call failed. `user_message` is set when the reason may be shown to the user.
    Tasks under portal.retry.STRIPE_RETRY retry it (through its base, StripeFailure)."""

    def __init__(
        self,
        message: str,
        *,
        user_message: str = "",
        retryable: bool = False,
        code: str = "",
        http_status: int | None = None,
    ):
        super().__init__(message)
        self.user_message = user_message
        self.retryable = retryable
        # Stripe's error `code` (https://docs.stripe.com/error-codes), e.g. "resource_missing":
        # decisions look at it (and re-read the object), never at the message's wording.
        self.code = code
        self.http_status = http_status


RESOURCE_MISSING = "resource_missing"


class InvalidSignature(GatewayError):
    """A webhook whose signature or timestamp does not verify."""


class InvalidEvent(GatewayError):
    """A correctly signed webhook body that is not shaped like a Stripe event."""


class InvalidStripeId(ValueError):
    """A value that is not a Stripe id of the expected kind. Raised before any request is made,
    so a hostile id (`cs_x/../../customers`) never becomes part of a URL; not a GatewayError,
    since trying again cannot help."""


# Stripe ids are a short prefix naming the object, an underscore, then letters and digits
# (with more underscores in some: "cs_test_a1B2"). Nothing else, so never "/", "." or "?".
# https://docs.stripe.com/api/ (each object's `id`); the length bound is generous. Products
# may carry ids we chose ("guildhall_plan_3"), hence no prefix for them.
STRIPE_ID_PREFIXES = {
    "checkout_session": "cs",
    "customer": "cus",
    "subscription": "sub",
    "invoice": "in",
    "payment_intent": "pi",
    "price": "price",
    "product": "",
    "event": "evt",
    "charge": "ch",
    "refund": "re",
    "portal_session": "bps",
    "portal_configuration": "bpc",
}
_ID_BODY = re.compile(r"[A-Za-z0-9_]+")
MAX_ID_LENGTH = 80  # what our stripe_*_id columns hold; Stripe's own ids are far shorter


def is_stripe_id(value: object, kind: str) -> TypeGuard[str]:
    """True when `value` has the shape of a Stripe id of `kind` (a key of STRIPE_ID_PREFIXES)."""
    prefix = STRIPE_ID_PREFIXES[kind] + "_" if STRIPE_ID_PREFIXES[kind] else ""
    return (
        isinstance(value, str)
        and len(prefix) < len(value) <= MAX_ID_LENGTH
        and value.startswith(prefix)
        and _ID_BODY.fullmatch(value, len(prefix)) is not None
    )


def check_stripe_id(value: object, kind: str) -> str:
    """Return `value` if it is a Stripe id of `kind`; raise InvalidStripeId otherwise."""
    if not is_stripe_id(value, kind):
        raise InvalidStripeId(f"not a Stripe {kind} id: {str(value)[:80]!r}")
    return value


class _DictLike:
    """Lets value objects be read as `obj.field`, `obj["field"]` or `obj.get("field")`."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


@dataclass(frozen=True)
class CheckoutSessionRef(_DictLike):
    id: str
    url: str


@dataclass(frozen=True)
class RefundRef(_DictLike):
    id: str
    status: str
    amount_cents: int
    created: datetime | None = None


@dataclass(frozen=True)
class CheckoutSessionData(_DictLike):
    id: str
    status: str
    payment_status: str
    mode: str
    payment_intent: str | None
    subscription: str | None
    customer: str | None
    customer_email: str | None
    client_reference_id: str | None
    metadata: dict[str, str]
    amount_total: int
    currency: str
    # The subscription a subscription-mode session started, as Stripe has it now (with its
    # latest invoice): read in the same request as the session.
    subscription_now: SubscriptionData | None = None


@dataclass(frozen=True)
class InvoiceData(_DictLike):
    id: str
    number: str
    status: str
    billing_reason: str
    customer: str
    customer_email: str
    customer_name: str
    subscription: str | None
    payment_intent: str | None
    amount_due: int
    amount_paid: int
    currency: str
    created: datetime
    paid_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    hosted_invoice_url: str
    invoice_pdf: str


@dataclass(frozen=True)
class SubscriptionData(_DictLike):
    id: str
    status: str
    customer: str
    metadata: dict[str, str]
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None
    canceled_at: datetime | None
    ended_at: datetime | None
    cancellation_reason: str | None
    price_ids: tuple[str, ...]
    latest_invoice: InvoiceData | None


@dataclass(frozen=True)
class ChargeData(_DictLike):
    id: str
    payment_intent: str | None
    customer: str | None
    amount_cents: int
    amount_refunded_cents: int
    refunded: bool
    currency: str
    metadata: dict[str, str]
    refunds: tuple[RefundRef, ...] = field(default_factory=tuple)


# --- the client ---------------------------------------------------------------------------------

_clients: dict[tuple[str, str | None], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def is_standin() -> bool:
    """True when the portal talks to the local stand-in rather than to Stripe."""
    key: str = settings.STRIPE_SECRET_KEY
    return key.endswith("_standin")


def hosted_page_origins() -> list[str]:
    """The origins of the Checkout and Customer Portal pages our forms redirect buyers to; the
    Content-Security-Policy's form-action must allow them, since browsers check redirects too."""
    if is_standin():
        parts = urlsplit(settings.STRIPE_API_BASE)
        return [f"{parts.scheme}://{parts.netloc}"]
    return ["https://checkout.stripe.com", "https://billing.stripe.com"]


def _client() -> stripe.StripeClient:
    key = settings.STRIPE_SECRET_KEY
    base = settings.STRIPE_API_BASE if is_standin() else None
    with _clients_lock:
        client = _clients.get((key, base))
        if client is None:
            client = stripe.StripeClient(
                key,
                stripe_version=API_VERSION,
                base_addresses={"api": base} if base else {},
                max_network_retries=2,
            )
            _clients[(key, base)] = client
    return client


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one Stripe call, turning stripe's exceptions into GatewayError."""
    try:
        result = fn(*args, **kwargs)
    except stripe.CardError as exc:
        raise GatewayError(
            str(exc),
            user_message=exc.user_message or "",
            code=exc.code or "",
            http_status=exc.http_status,
        ) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise GatewayError(str(exc), retryable=True, http_status=exc.http_status) from exc
    except stripe.StripeError as exc:
        retryable = (exc.http_status or 0) >= 500
        raise GatewayError(
            str(exc), retryable=retryable, code=exc.code or "", http_status=exc.http_status
        ) from exc
    # Plain dicts from here on: stripe-python's objects are not dicts (no .get()).
    return result.to_dict() if hasattr(result, "to_dict") else result


def _get(path: str, **params: Any) -> dict[str, Any]:
    """Read an object as plain JSON. Reads are the webhook path's hot loop, and building
    stripe-python's objects costs more than the HTTP round trip; errors are the same."""
    data: dict[str, Any] = _call(lambda: _client().raw_request("get", path, **params).data)
    return data


def _opts(idempotency_key: str) -> dict[str, str]:
    if not idempotency_key:
        raise ValueError("Every create call needs an idempotency key built from our own ids.")
    return {"idempotency_key": idempotency_key}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _id(value: Any) -> str | None:
    """An id from a field that may hold an id or an expanded object."""
    if value is None or isinstance(value, str):
        return value
    found = value.get("id")
    return found if isinstance(found, str) else None


def _metadata(obj: Any) -> dict[str, str]:
    return dict((obj or {}).get("metadata") or {})


# --- payments for other apps ---------------------------------------------------------------------


def create_payment_checkout(
    *,
    line_items: list[dict[str, Any]],
    currency: str = "usd",
    customer_email: str | None,
    metadata: Mapping[str, str],
    idempotency_key: str,
    success_url: str,
    cancel_url: str,
) -> CheckoutSessionRef:
    """A hosted Checkout page for a one-time payment. Raises GatewayError, ValueError."""
    if not metadata.get("kind"):
        raise ValueError('metadata needs a "kind" so the webhook finds the owning app')
    md = {str(k): str(v) for k, v in metadata.items()}
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": int(item["amount_cents"]),
                    "product_data": {"name": str(item["name"])[:250]},
                },
                "quantity": int(item.get("quantity", 1)),
            }
            for item in line_items
        ],
        "metadata": md,
        "payment_intent_data": {"metadata": md},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer_email:
        params["customer_email"] = customer_email
    session = _call(
        _client().v1.checkout.sessions.create, params=params, options=_opts(idempotency_key)
    )
    return CheckoutSessionRef(id=session["id"], url=session.get("url") or "")


def retrieve_checkout_session(session_id: str) -> CheckoutSessionData:
    """Raises InvalidStripeId for anything but a Checkout Session id, GatewayError."""
    session = _get(
        f"/v1/checkout/sessions/{check_stripe_id(session_id, 'checkout_session')}",
        expand=[f"subscription{path}" for path in ("", *_SUBSCRIPTION_EXPANDS)],
    )
    details = session.get("customer_details") or {}
    return CheckoutSessionData(
        id=session["id"],
        status=session.get("status") or "",
        payment_status=session.get("payment_status") or "",
        mode=session.get("mode") or "",
        payment_intent=_id(session.get("payment_intent")),
        subscription=_id(session.get("subscription")),
        customer=_id(session.get("customer")),
        customer_email=session.get("customer_email") or details.get("email"),
        client_reference_id=session.get("client_reference_id"),
        metadata=_metadata(session),
        amount_total=session.get("amount_total") or 0,
        currency=session.get("currency") or "usd",
        subscription_now=(
            _subscription_data(session["subscription"])
            if isinstance(session.get("subscription"), dict)
            else None
        ),
    )


def refund_payment(
    *,
    payment_intent_id: str,
    amount_cents: int | None = None,
    idempotency_key: str,
    metadata: Mapping[str, str] | None = None,
) -> RefundRef:
    """Refund a payment in whole (amount_cents None) or in part. Raises GatewayError."""
    params: dict[str, Any] = {
        "payment_intent": check_stripe_id(payment_intent_id, "payment_intent")
    }
    if amount_cents is not None:
        params["amount"] = int(amount_cents)
    if metadata:
        params["metadata"] = {str(k): str(v) for k, v in metadata.items()}
    refund = _call(_client().v1.refunds.create, params=params, options=_opts(idempotency_key))
    return RefundRef(
        id=refund["id"],
        status=refund["status"],
        amount_cents=refund["amount"],
        created=_ts(refund.get("created")),
    )


def retrieve_charge(charge_id: str) -> ChargeData:
    charge = _get(f"/v1/charges/{check_stripe_id(charge_id, 'charge')}", expand=["refunds"])
    refunds = (charge.get("refunds") or {}).get("data") or []
    return ChargeData(
        id=charge["id"],
        payment_intent=_id(charge.get("payment_intent")),
        customer=_id(charge.get("customer")),
        amount_cents=charge["amount"],
        amount_refunded_cents=charge.get("amount_refunded") or 0,
        refunded=bool(charge.get("refunded")),
        currency=charge.get("currency") or "usd",
        metadata=_metadata(charge),
        refunds=tuple(
            RefundRef(
                id=r["id"], status=r["status"], amount_cents=r["amount"], created=_ts(r["created"])
            )
            for r in refunds
        ),
    )


# --- membership: customers, plans, subscriptions ------------------------------------------------


def customer_upsert(
    *,
    customer_id: str = "",
    email: str,
    name: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
) -> str:
    """Create the Stripe Customer (or update its email and name); returns its id."""
    params = {"email": email, "name": name, "metadata": dict(metadata)}
    if customer_id:
        _call(
            _client().v1.customers.update, check_stripe_id(customer_id, "customer"), params=params
        )
        return customer_id
    customer = _call(_client().v1.customers.create, params=params, options=_opts(idempotency_key))
    return str(customer["id"])


def plan_sync(
    *,
    product_id: str,
    name: str,
    description: str,
    active: bool,
    amount_cents: int,
    lookup_key: str,
    metadata: Mapping[str, str],
    idempotency_prefix: str,
) -> tuple[str, str]:
    """Make Stripe's Product and yearly Price match a plan; returns (product_id, price_id).

    The Price is found by `lookup_key` among active prices. A new amount makes a new Price
    that takes the lookup key over (`transfer_lookup_key`; Stripe prices are immutable); the
    old one is archived. Safe to run again.

    The create's idempotency key names the price it replaces, not only the amount: a plan
    changed 195 -> 205 -> 195 must get a third price, since Stripe would answer a key seen
    before (for 24 hours) with the first one, which is archived and has lost its lookup key.
    """
    check_stripe_id(product_id, "product")
    client = _client()
    product_params: dict[str, Any] = {
        "name": name,
        "active": active,
        "metadata": dict(metadata),
    }
    if description:
        product_params["description"] = description[:5000]
    try:
        _call(client.v1.products.retrieve, product_id)
    except GatewayError:
        _call(
            client.v1.products.create,
            params={"id": product_id, **product_params},
            options=_opts(f"{idempotency_prefix}-product"),
        )
    else:
        _call(client.v1.products.update, product_id, params=product_params)
    found = _call(
        client.v1.prices.list, params={"lookup_keys": [lookup_key], "active": True, "limit": 1}
    )
    current = found["data"][0] if found["data"] else None
    if (
        current is not None
        and current["unit_amount"] == amount_cents
        and current["active"]
        and _id(current["product"]) == product_id
    ):
        return product_id, current["id"]
    replaces = current["id"] if current is not None else "none"
    price = _call(
        client.v1.prices.create,
        params={
            "product": product_id,
            "currency": "usd",
            "unit_amount": amount_cents,
            "recurring": {"interval": "year"},
            "lookup_key": lookup_key,
            "transfer_lookup_key": True,
            "metadata": dict(metadata),
        },
        options=_opts(f"{idempotency_prefix}-price-{amount_cents}-after-{replaces}"),
    )
    if current is not None and current["id"] != price["id"]:
        _call(
            client.v1.prices.update,
            check_stripe_id(current["id"], "price"),
            params={"active": False},
        )
    return product_id, price["id"]


def create_subscription_checkout(
    *,
    customer_id: str,
    price_id: str,
    metadata: Mapping[str, str],
    client_reference_id: str,
    idempotency_key: str,
    success_url: str,
    cancel_url: str,
) -> CheckoutSessionRef:
    """A hosted Checkout page in subscription mode for one yearly price."""
    md = {"kind": MEMBERSHIP_KIND, **{str(k): str(v) for k, v in metadata.items()}}
    session = _call(
        _client().v1.checkout.sessions.create,
        params={
            "mode": "subscription",
            "customer": check_stripe_id(customer_id, "customer"),
            "line_items": [{"price": check_stripe_id(price_id, "price"), "quantity": 1}],
            "client_reference_id": client_reference_id,
            "metadata": md,
            "subscription_data": {"metadata": md},
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
        options=_opts(idempotency_key),
    )
    return CheckoutSessionRef(id=session["id"], url=session.get("url") or "")


# --- the Customer Portal -------------------------------------------------------------------------
# A new Stripe account has no portal configuration, and a portal session without one fails
# until staff save the portal settings in the Dashboard. So the portal makes its own (marked by
# PORTAL_METADATA) with what members need and nothing else: their invoices, changing the card,
# canceling at the period end (our TRANSITIONS then give the rest of the year). Plan changes
# and immediate cancels stay off; they would bypass our joining rules.

PORTAL_FEATURES: dict[str, dict[str, Any]] = {
    "invoice_history": {"enabled": True},
    "payment_method_update": {"enabled": True},
    "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
    "customer_update": {"enabled": False},
    "subscription_update": {"enabled": False},
}
PORTAL_METADATA = {"guildhall": "customer_portal"}

_portal_configurations: dict[str, str] = {}  # secret key -> the configuration's id


def portal_configuration_problems(config: Mapping[str, Any]) -> list[str]:
    """How a portal configuration differs from PORTAL_FEATURES (empty when it fits)."""
    problems = [] if config.get("active") else ["it is not active"]
    features = config.get("features") or {}
    for name, wanted in PORTAL_FEATURES.items():
        have = features.get(name) or {}
        for field_name, value in wanted.items():
            if have.get(field_name) != value:
                problems.append(
                    f"features.{name}.{field_name} is {have.get(field_name)!r}, not {value!r}"
                )
    return problems


def find_portal_configuration() -> dict[str, Any] | None:
    """The configuration the portal made (by its metadata), active ones first; None if none."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = _get("/v1/billing_portal/configurations", **params)
        found += [c for c in page["data"] if _metadata(c) == PORTAL_METADATA]
        if not page.get("has_more") or not page["data"]:
            break
        params["starting_after"] = page["data"][-1]["id"]
    found.sort(key=lambda c: not c.get("active"))
    return found[0] if found else None


def portal_configuration_ensure() -> str:
    """Create the portal's Customer Portal configuration, or set its features right; returns
    its id. Safe to run again and from two workers at once (one idempotency key)."""
    client = _client()
    config = find_portal_configuration()
    if config is None:
        config = _call(
            client.v1.billing_portal.configurations.create,
            params={"features": PORTAL_FEATURES, "metadata": PORTAL_METADATA},
            # Named by the features asked for: a key replayed with other params is refused.
            options=_opts(f"guildhall-portal-configuration-{_digest(PORTAL_FEATURES)}"),
        )
    elif portal_configuration_problems(config):
        config = _call(
            client.v1.billing_portal.configurations.update,
            check_stripe_id(config["id"], "portal_configuration"),
            params={"active": True, "features": PORTAL_FEATURES},
        )
    config_id = str(config["id"])
    _portal_configurations[settings.STRIPE_SECRET_KEY] = config_id
    return config_id


def create_portal_session(*, customer_id: str, return_url: str) -> str:
    """The Customer Portal (card changes, cancellation, invoices); returns its URL. Uses the
    portal's own configuration, made on first use (and again if staff removed it)."""
    params = {"customer": check_stripe_id(customer_id, "customer"), "return_url": return_url}
    known = _portal_configurations.get(settings.STRIPE_SECRET_KEY)
    try:
        session = _call(
            _client().v1.billing_portal.sessions.create,
            params={**params, "configuration": known or portal_configuration_ensure()},
        )
    except GatewayError as exc:
        if not known or exc.retryable or exc.http_status != 400:
            raise
        # The remembered configuration was deactivated or deleted: check it, once.
        session = _call(
            _client().v1.billing_portal.sessions.create,
            params={**params, "configuration": portal_configuration_ensure()},
        )
    return str(session["url"])


# --- the account, for manage.py stripe_check ------------------------------------------------------


@dataclass(frozen=True)
class AccountData(_DictLike):
    id: str
    livemode: bool
    charges_enabled: bool
    api_version: str  # the version Stripe answered with (its Stripe-Version header)


@dataclass(frozen=True)
class WebhookEndpointData(_DictLike):
    id: str
    url: str
    status: str
    enabled_events: tuple[str, ...]
    api_version: str | None  # None: events in the account's default version


def retrieve_account() -> AccountData:
    """The account the secret key belongs to; raises GatewayError when the key does not work."""
    response = _call(lambda: _client().raw_request("get", "/v1/account"))
    headers = {k.lower(): v for k, v in dict(response.headers).items()}
    account = response.data
    return AccountData(
        id=account.get("id") or "",
        # An account object has no livemode field; the key's mode is the account's mode here.
        livemode=str(settings.STRIPE_SECRET_KEY).startswith(("sk_live_", "rk_live_")),
        charges_enabled=bool(account.get("charges_enabled")),
        api_version=headers.get("stripe-version", ""),
    )


def list_webhook_endpoints() -> list[WebhookEndpointData]:
    found = _get("/v1/webhook_endpoints", limit=100)
    return [
        WebhookEndpointData(
            id=w["id"],
            url=w.get("url") or "",
            status=w.get("status") or "",
            enabled_events=tuple(w.get("enabled_events") or ()),
            api_version=w.get("api_version"),
        )
        for w in found["data"]
    ]


def _invoice_data(inv: Any) -> InvoiceData:
    parent = inv.get("parent") or {}
    sub_details = parent.get("subscription_details") or {}
    payment_intent = None
    for payment in (inv.get("payments") or {}).get("data") or []:
        if payment.get("is_default") or payment_intent is None:
            payment_intent = _id((payment.get("payment") or {}).get("payment_intent"))
    lines = (inv.get("lines") or {}).get("data") or []
    period = (lines[0] if lines else {}).get("period") or {}
    transitions = inv.get("status_transitions") or {}
    return InvoiceData(
        id=inv["id"],
        number=inv.get("number") or "",
        status=inv.get("status") or "",
        billing_reason=inv.get("billing_reason") or "",
        customer=_id(inv.get("customer")) or "",
        customer_email=inv.get("customer_email") or "",
        customer_name=inv.get("customer_name") or "",
        subscription=_id(sub_details.get("subscription")),
        payment_intent=payment_intent,
        amount_due=inv.get("amount_due") or 0,
        amount_paid=inv.get("amount_paid") or 0,
        currency=inv.get("currency") or "usd",
        # Stripe always sends `created`; without it, the time we read it is the best we know.
        created=_ts(inv.get("created")) or datetime.now(tz=UTC),
        paid_at=_ts(transitions.get("paid_at")),
        period_start=_ts(period.get("start")) or _ts(inv.get("period_start")),
        period_end=_ts(period.get("end")) or _ts(inv.get("period_end")),
        hosted_invoice_url=inv.get("hosted_invoice_url") or "",
        invoice_pdf=inv.get("invoice_pdf") or "",
    )


def retrieve_invoice(invoice_id: str) -> InvoiceData:
    inv = _get(f"/v1/invoices/{check_stripe_id(invoice_id, 'invoice')}", expand=["payments"])
    return _invoice_data(inv)


def list_invoices(customer_id: str, *, limit: int = 24) -> list[InvoiceData]:
    """A customer's newest invoices (with their payments)."""
    found = _get(
        "/v1/invoices",
        customer=check_stripe_id(customer_id, "customer"),
        limit=limit,
        expand=["data.payments"],
    )
    return [_invoice_data(inv) for inv in found["data"]]


# What a subscription is read with: its latest invoice, and that invoice's payments.
_SUBSCRIPTION_EXPANDS = (".latest_invoice", ".latest_invoice.payments")


def retrieve_subscription(subscription_id: str) -> SubscriptionData:
    return _subscription_data(
        _get(
            f"/v1/subscriptions/{check_stripe_id(subscription_id, 'subscription')}",
            expand=[path[1:] for path in _SUBSCRIPTION_EXPANDS],
        )
    )


def _subscription_data(sub: dict[str, Any]) -> SubscriptionData:
    items = (sub.get("items") or {}).get("data") or []
    latest = sub.get("latest_invoice")
    return SubscriptionData(
        id=sub["id"],
        status=sub["status"],
        customer=_id(sub.get("customer")) or "",
        metadata=_metadata(sub),
        # Since API version 2025-03-31 the billing period lives on the items.
        current_period_start=_ts(min(i["current_period_start"] for i in items)) if items else None,
        current_period_end=_ts(min(i["current_period_end"] for i in items)) if items else None,
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        cancel_at=_ts(sub.get("cancel_at")),
        canceled_at=_ts(sub.get("canceled_at")),
        ended_at=_ts(sub.get("ended_at")),
        cancellation_reason=(sub.get("cancellation_details") or {}).get("reason"),
        price_ids=tuple(price for i in items if (price := _id(i["price"]))),
        latest_invoice=_invoice_data(latest) if isinstance(latest, dict) else None,
    )


_ENDED = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED})


def cancel_subscription(subscription_id: str) -> None:
    """End a subscription now (already ended is fine).

    Stripe answers a cancel of a subscription that has already ended with `resource_missing`
    ("No such subscription"), the same code as for an id it never knew. So the code alone
    proves nothing: the subscription is read again, and only one that Stripe shows as ended
    counts as done. Anything else is raised (and retried by the caller's policy).
    """
    check_stripe_id(subscription_id, "subscription")
    try:
        _call(_client().v1.subscriptions.cancel, subscription_id)
    except GatewayError as exc:
        if exc.code != RESOURCE_MISSING:
            raise
        try:
            sub = _get(f"/v1/subscriptions/{subscription_id}")
        except GatewayError as reread:
            raise GatewayError(
                f"canceling {subscription_id}: {exc}; reading it again: {reread}",
                retryable=reread.retryable,
                code=reread.code,
                http_status=reread.http_status,
            ) from reread
        if sub.get("status") not in _ENDED:
            raise
        log.info("subscription %s had already ended (%s)", subscription_id, sub.get("status"))


# --- webhooks ------------------------------------------------------------------------------------


def construct_event(payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """Verify a webhook's signature and timestamp on the raw body; returns the event as a dict.

    Raises InvalidSignature for a bad signature, a timestamp more than
    STRIPE_WEBHOOK_TOLERANCE seconds behind or ahead of our clock, or a body that is not JSON;
    InvalidEvent for a signed body that is not shaped like an event (the id, type, created and
    data.object fields are checked, since they are stored and used as they are).
    """
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE
    try:
        # Only the signature and timestamp: building stripe's Event object would cost more
        # than the rest of the request, and the event is stored as JSON anyway.
        stripe.WebhookSignature.verify_header(
            payload, signature_header or "", settings.STRIPE_WEBHOOK_SECRET, tolerance=tolerance
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidSignature(str(exc)) from exc
    # stripe-python only refuses timestamps too far in the past; one from the future is as
    # suspect (a replay prepared ahead, or a clock gone wrong), so refuse it the same way.
    if _signed_at(signature_header or "") > time.time() + tolerance:
        raise InvalidSignature("timestamp outside the tolerance zone (ahead of our clock)")
    return _check_event_shape(event, payload)


def _signed_at(header: str) -> int:
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return 0


def _check_event_shape(event: Any, payload: bytes) -> dict[str, Any]:
    """The event, if it is shaped like one Stripe would send; raises InvalidEvent otherwise."""
    if not isinstance(event, dict):
        raise InvalidEvent("the body is not a JSON object")
    if b"\\u0000" in payload:
        # No database text column takes a NUL, and no Stripe event carries one.
        raise InvalidEvent("the body holds a NUL character")
    if not is_stripe_id(event.get("id"), "event"):
        raise InvalidEvent("no event id, or not one Stripe would send")
    kind = event.get("type")
    if not isinstance(kind, str) or len(kind) > 80 or not _EVENT_TYPE.fullmatch(kind):
        raise InvalidEvent("no event type, or not one Stripe would send")
    created = event.get("created")
    if type(created) is not int or not 0 < created < 2**40:
        raise InvalidEvent("`created` is not a Unix time")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise InvalidEvent("`data.object` is not an object")
    object_id = obj.get("id", "")
    if not isinstance(object_id, str) or len(object_id) > MAX_ID_LENGTH:
        raise InvalidEvent("`data.object.id` is not a Stripe id")
    if object_id and not _ID_BODY.fullmatch(object_id):
        raise InvalidEvent("`data.object.id` is not a Stripe id")
    return event


_EVENT_TYPE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+){1,4}")
