"""Stripe's webhook events: stored once, applied by the app that owns the purchase, retried
with a growing delay when applying fails, then parked for staff.

Payments knows no capability. Each app registers, in its AppConfig.ready(), a handler for the
metadata "kind" it puts on its Checkout Sessions and subscriptions; an event's object is
re-read from Stripe (never trusting the event body) and handed to the handler of its kind.
Handlers must be idempotent: Stripe sends events more than once and out of order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Now
from django.db.models.lookups import Exact
from django.utils import timezone

from . import gateway
from .models import StripeEvent

log = logging.getLogger(__name__)

# --- the handler registry ------------------------------------------------------------------------

CheckoutHandler = Callable[[gateway.CheckoutSessionData], None]
RefundHandler = Callable[[gateway.ChargeData], None]
SubscriptionHandler = Callable[[gateway.SubscriptionData, gateway.InvoiceData | None], None]

_checkout_handlers: dict[str, CheckoutHandler] = {}
_refund_handlers: dict[str, RefundHandler] = {}
_subscription_handlers: dict[str, SubscriptionHandler] = {}

CHECKOUT_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
# invoice.payment_succeeded is left out: it always comes with invoice.paid.
INVOICE_EVENTS = {"invoice.paid", "invoice.payment_failed"}
SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}
REFUND_EVENTS = {"charge.refunded"}
HANDLED_EVENTS = CHECKOUT_EVENTS | INVOICE_EVENTS | SUBSCRIPTION_EVENTS | REFUND_EVENTS


def register_checkout_handler(kind: str, handler: CheckoutHandler) -> None:
    """Route Checkout Sessions whose metadata["kind"] is `kind` to `handler` (idempotent).

    The handler gets checkout.session.completed, .async_payment_succeeded,
    .async_payment_failed and .expired; it looks at `status` and `payment_status` rather than
    at which event it was.

    A completed subscription-mode session does not reach it: all such a session did was start
    its subscription, so applying it is applying that subscription (read in the same request),
    through the subscription handler. An apply of the subscription then also covers the
    session's pending events, and the other way round.
    """
    _checkout_handlers[kind] = handler


def register_refund_handler(kind: str, handler: RefundHandler) -> None:
    """Route refunded charges whose metadata["kind"] is `kind` to `handler` (idempotent).

    Charges of subscription invoices carry no metadata; they are dues, routed to "membership".
    """
    _refund_handlers[kind] = handler


def register_subscription_handler(kind: str, handler: SubscriptionHandler) -> None:
    """Route subscription and invoice events by the subscription's metadata["kind"].

    The handler gets the subscription as Stripe has it now (with its latest invoice) and, for
    an invoice event, that invoice. It must apply `subscription.latest_invoice` as it applies
    an event's invoice: any apply of a subscription then counts as applying the pending events
    of its latest invoice, which need no read of their own.
    """
    _subscription_handlers[kind] = handler


def dispatch_event(
    event_type: str,
    object_id: str,
    *,
    subscription_hint: str = "",
    then: Callable[[gateway.SubscriptionData | None], None] | None = None,
) -> bool:
    """Re-read the event's object from Stripe and hand it to the owning app's handler.

    Returns False when nobody handles this event type or kind (the event is then only kept).
    Raises GatewayError when Stripe cannot be reached; the caller retries.

    `subscription_hint` is the subscription an invoice event names: it only picks what to
    read first. The subscription is read with its latest invoice, and when that is the
    event's invoice (a renewal, a first payment) the invoice needs no read of its own.

    `then` runs in the handler's transaction, before it, with the subscription the handler
    gets (stripe_event_apply marks the events applied there: one commit instead of two); it
    does not run when nobody handles the event.
    """
    if event_type in CHECKOUT_EVENTS:
        session = gateway.retrieve_checkout_session(object_id)
        started = session.subscription_now
        if started is not None and session.status == gateway.CheckoutSessionStatus.COMPLETE:
            kind = started.metadata.get("kind") or session.metadata.get("kind", "")
            on_started = _subscription_handlers.get(kind)
            if on_started is None:
                return False
            _in_one_transaction(lambda: on_started(started, None), then, started)
            return True
        on_checkout = _checkout_handlers.get(session.metadata.get("kind", ""))
        if on_checkout is None:
            return False
        _in_one_transaction(lambda: on_checkout(session), then, None)
        return True
    if event_type in INVOICE_EVENTS or event_type in SUBSCRIPTION_EVENTS:
        if event_type in SUBSCRIPTION_EVENTS:
            subscription, invoice = gateway.retrieve_subscription(object_id), None
        else:
            found = _invoice_and_subscription(object_id, subscription_hint)
            if found is None:
                return False
            subscription, invoice = found
        on_subscription = _subscription_handlers.get(subscription.metadata.get("kind", ""))
        if on_subscription is None:
            return False
        _in_one_transaction(lambda: on_subscription(subscription, invoice), then, subscription)
        return True
    if event_type in REFUND_EVENTS:
        charge = gateway.retrieve_charge(object_id)
        on_refund = _refund_handlers.get(charge.metadata.get("kind") or gateway.MEMBERSHIP_KIND)
        if on_refund is None:
            return False
        _in_one_transaction(lambda: on_refund(charge), then, None)
        return True
    return False


def _in_one_transaction(
    apply: Callable[[], None],
    then: Callable[[gateway.SubscriptionData | None], None] | None,
    subscription: gateway.SubscriptionData | None,
) -> None:
    with transaction.atomic():
        # `then` first: a handler writes its numbered documents last (their counters stay
        # locked until the commit), so nothing else should come between them and the commit.
        if then is not None:
            then(subscription)
        apply()


def _invoice_and_subscription(
    invoice_id: str, subscription_hint: str
) -> tuple[gateway.SubscriptionData, gateway.InvoiceData] | None:
    """An invoice and its subscription, in one read when the invoice is the subscription's
    latest; None for an invoice of no subscription."""
    subscription = None
    if gateway.is_stripe_id(subscription_hint, "subscription"):
        subscription = gateway.retrieve_subscription(subscription_hint)
        latest = subscription.latest_invoice
        if latest is not None and latest.id == invoice_id:
            return subscription, latest
    invoice = gateway.retrieve_invoice(invoice_id)
    if not invoice.subscription:
        return None
    if subscription is None or subscription.id != invoice.subscription:
        subscription = gateway.retrieve_subscription(invoice.subscription)
    return subscription, invoice


# --- webhook events ------------------------------------------------------------------------------


def stripe_event_store(event: dict[str, Any]) -> bool:
    """Keep a verified webhook event once; returns False for a duplicate. For the types we
    handle, the apply task is queued as soon as the row is committed."""
    obj = (event.get("data") or {}).get("object") or {}
    handled = event.get("type") in HANDLED_EVENTS
    row = StripeEvent(
        id=event["id"],
        type=event.get("type", ""),
        object_id=obj.get("id", "") or "",
        created=datetime.fromtimestamp(event.get("created") or 0, tz=UTC),
        payload=event,
        # Types nobody handles are kept for the record, with nothing left to do.
        processed_at=None if handled else timezone.now(),
    )
    try:
        if transaction.get_connection().in_atomic_block:
            # Inside a caller's transaction a savepoint keeps a duplicate from spoiling it.
            with transaction.atomic():
                row.save(force_insert=True)
        else:
            # On its own a single INSERT commits by itself: one round trip, not three.
            row.save(force_insert=True)
    except IntegrityError:
        return False
    if handled:
        from .tasks import stripe_event_apply  # payments.tasks imports this module

        transaction.on_commit(lambda: stripe_event_apply.delay(row.id))
    return True


MAX_RETRY_DELAY = timedelta(hours=6)


def stripe_event_retry_delay(attempts: int) -> timedelta:
    """How long an event that failed `attempts` times waits before its next try."""
    seconds = settings.STRIPE_EVENT_RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 20)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


def stripe_event_apply(*, event_id: str) -> bool:
    """Apply one stored event by re-reading its object from Stripe; safe to run again.

    Returns False if it was applied before or is parked as failed. When applying raises
    (Stripe unreachable, a handler's error), the attempt and its error are recorded and the
    exception re-raised: the event is tried again after stripe_event_retry_delay() by the
    beat job, or parked as failed after STRIPE_EVENT_MAX_ATTEMPTS attempts.
    """
    pending = StripeEvent.objects.filter(
        pk=event_id, processed_at__isnull=True, failed_at__isnull=True
    )
    event = pending.values(
        "type",
        "object_id",
        "attempts",
        subscription=_SUBSCRIPTION_NAMED,
        started=_SESSION_SUBSCRIPTION,
    ).first()
    if event is None:
        return False
    # Turns by subscription: an invoice event names its subscription, a Checkout Session's
    # event the subscription it started; either apply reads that subscription.
    turn = event["object_id"]
    if event["type"] in INVOICE_EVENTS and isinstance(event["subscription"], str):
        turn = event["subscription"] or turn
    elif event["type"] in CHECKOUT_EVENTS and isinstance(event["started"], str):
        turn = event["started"] or turn
    with _one_apply_at_a_time(turn):
        # The database's clock, as for received_at: what arrived before this moment, Stripe
        # had changed before the read that follows.
        reading_from = pending.annotate(now=Now()).values_list("now", flat=True).first()
        if reading_from is None:
            return False  # covered by the read of the apply we waited for
        return _apply(event_id, event, reading_from)


def _apply(event_id: str, event: Mapping[str, Any], reading_from: datetime) -> bool:
    rows = StripeEvent.objects.filter(pk=event_id)
    marked: list[bool] = []

    def mark_applied(subscription: gateway.SubscriptionData | None = None) -> None:
        # The object was read after every event about it that had arrived by then, so its
        # current state covers them: they are done too, with no read or apply of their own.
        # So does the subscription a handler got: its events, and those of its latest invoice
        # (handlers apply it as they apply the event's invoice; see register_subscription_handler).
        about = Q(
            object_id=event["object_id"],
            type__in=_SAME_OBJECT.get(event["type"], {event["type"]}),
        )
        if subscription is not None:
            about |= Q(object_id=subscription.id, type__in=SUBSCRIPTION_EVENTS)
            # The sessions that started it (see register_checkout_handler).
            about |= Q(Exact(_SESSION_SUBSCRIPTION, subscription.id), type__in=CHECKOUT_EVENTS)
            if subscription.latest_invoice is not None:
                about |= Q(object_id=subscription.latest_invoice.id, type__in=INVOICE_EVENTS)
        covered = StripeEvent.objects.filter(
            about,
            processed_at__isnull=True,
            failed_at__isnull=True,
            received_at__lt=reading_from,
        )
        done = rows if not event["object_id"] else rows | covered
        done.update(
            attempts=F("attempts") + 1,
            processed_at=timezone.now(),
            error="",
            next_attempt_at=None,
            covered_by=Case(When(pk=event_id, then=Value("")), default=Value(event_id)),
        )
        marked.append(True)

    try:
        if event["type"] in HANDLED_EVENTS and event["object_id"]:
            hint = event["subscription"] if isinstance(event["subscription"], str) else ""
            dispatch_event(
                event["type"], event["object_id"], subscription_hint=hint, then=mark_applied
            )
    except Exception as exc:
        attempts = event["attempts"] + 1
        now = timezone.now()
        parked = attempts >= settings.STRIPE_EVENT_MAX_ATTEMPTS
        rows.update(
            attempts=F("attempts") + 1,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=None if parked else now + stripe_event_retry_delay(attempts),
            failed_at=now if parked else None,
        )
        if parked:
            log.error("stripe event %s parked as failed after %s attempts", event_id, attempts)
        raise
    if not marked:  # nobody handles it: kept, with nothing to do
        mark_applied()
    return True


# How long an apply waits for another apply of the same object before going ahead anyway.
OBJECT_TURN_WAIT = 10.0
_ADVISORY_LOCK_SPACE = 7420  # the first key of payments' advisory locks


@contextmanager
def _one_apply_at_a_time(object_id: str) -> Iterator[None]:
    """On PostgreSQL, applies of events about one object take turns: a session advisory lock,
    held across the read with no transaction open. Two events about one subscription then
    cost one read, since the second finds itself covered by the first's. Elsewhere, or inside
    a transaction, nothing: correct either way (every apply uses the current state), only
    slower. The wait is bounded; after OBJECT_TURN_WAIT the apply goes ahead on its own."""
    connection = transaction.get_connection()
    if not object_id or connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    deadline = time.monotonic() + OBJECT_TURN_WAIT
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                [_ADVISORY_LOCK_SPACE, object_id],
            )
            held = bool(cursor.fetchone()[0])
            if held or time.monotonic() > deadline:
                break
            time.sleep(0.01)
    try:
        yield
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(%s))",
                    [_ADVISORY_LOCK_SPACE, object_id],
                )


# Event types about the same kind of object (its id is the event's object_id).
_SAME_OBJECT = {
    kind: group
    for group in (CHECKOUT_EVENTS, INVOICE_EVENTS, SUBSCRIPTION_EVENTS, REFUND_EVENTS)
    for kind in group
}
# The subscription an invoice event names (read first; see dispatch_event).
_SUBSCRIPTION_NAMED = KT("payload__data__object__parent__subscription_details__subscription")
# The subscription a Checkout Session event's session started (indexed while pending).
_SESSION_SUBSCRIPTION = KT("payload__data__object__subscription")


def stripe_events_due(
    *, now: datetime | None = None, lost_after: timedelta, limit: int = 500
) -> list[str]:
    """Claim the events that should be tried now, and return their ids, oldest first: those
    whose retry time came, and those never tried within `lost_after` of arriving (their task
    was lost). Parked ones are not among them. Each claimed event is not claimed again for
    `lost_after`, so a slow queue does not get the same event several times."""
    now = now or timezone.now()
    lost = Q(next_attempt_at__isnull=True, received_at__lt=now - lost_after)
    due = StripeEvent.objects.filter(processed_at__isnull=True, failed_at__isnull=True).filter(
        lost | Q(next_attempt_at__lte=now)
    )
    with transaction.atomic():
        ids = list(due.order_by("received_at").values_list("pk", flat=True)[:limit])
        StripeEvent.objects.filter(pk__in=ids).update(next_attempt_at=now + lost_after)
    return ids


def stripe_event_retry(*, event_id: str) -> bool:
    """Take a parked (or waiting) event out of its wait, to be applied now; staff do this once
    the cause of its failure is fixed. Returns False for an event already applied. A parked
    event that fails again is parked again after that one attempt."""
    with transaction.atomic():
        updated = StripeEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
            failed_at=None, next_attempt_at=None
        )
    if not updated:
        return False
    from .tasks import stripe_event_apply  # payments.tasks imports this module

    transaction.on_commit(lambda: stripe_event_apply.delay(event_id))
    return True
