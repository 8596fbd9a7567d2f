"""Applying Stripe's state: subscriptions, their invoices as payments, and refunds.

Stripe's state is applied, never its story: webhook handlers re-read the subscription and
`membership_apply_subscription` makes our row match it, so duplicate and out-of-order events
end in the same place."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from payments import gateway

from ..models import Membership, Notice, Payment
from .common import RENEWAL_SLACK, State, _lock, _on_enter, _record, grace_days
from .notices import notice_queue

log = logging.getLogger(__name__)

_PAID_STRIPE = {"active", "trialing"}
_LIVE_STRIPE = {*_PAID_STRIPE, "past_due", "unpaid"}


def _membership_for_subscription(sub: gateway.SubscriptionData) -> Membership | None:
    pk = sub.metadata.get("membership")
    query = Q(stripe_subscription_id=sub.id)
    if pk and pk.isdigit():
        query |= Q(pk=int(pk))
    found = Membership.objects.filter(query).order_by("pk").values_list("pk", flat=True).first()
    return _lock(found) if found else None


def payment_record(*, membership: Membership, invoice: gateway.InvoiceData) -> Payment:
    """Upsert the dues payment for a Stripe invoice: paid, or open after a failed attempt.
    A refund recorded earlier is kept."""
    existing = Payment.objects.filter(stripe_invoice_id=invoice.id).first()
    if existing and existing.status in {Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED}:
        status = existing.status
    elif invoice.status == "paid":
        status = Payment.Status.PAID
    else:
        status = Payment.Status.FAILED
    user = membership.user
    defaults = {
        "membership": membership,
        "stripe_payment_intent_id": invoice.payment_intent or "",
        "number": invoice.number,
        "status": status,
        "amount_cents": invoice.amount_paid if invoice.status == "paid" else invoice.amount_due,
        "currency": invoice.currency,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "paid_at": invoice.paid_at,
        "created_at": invoice.created,
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf_url": invoice.invoice_pdf,
        "billed_name": invoice.customer_name or user.get_full_name(),
        "billed_email": invoice.customer_email or user.email,
    }
    payment, _ = Payment.objects.update_or_create(stripe_invoice_id=invoice.id, defaults=defaults)
    return payment


def membership_apply_subscription(
    sub: gateway.SubscriptionData, invoice: gateway.InvoiceData | None = None
) -> Membership | None:
    """Make the membership match Stripe's current view of its subscription.

    Idempotent and order-proof: it reads no event history, only the subscription (and the
    invoice, recorded as a payment). A subscription that is not the membership's current one
    only takes over when the current one has ended, so a late event about an old subscription
    never undoes a rejoin.
    """
    with transaction.atomic():
        membership = _membership_for_subscription(sub)
        if membership is None:
            log.warning("subscription %s names no membership we know", sub.id)
            return None
        failing = sub.status in {"past_due", "unpaid", "canceled"}
        for inv in {i.id: i for i in (invoice, sub.latest_invoice) if i}.values():
            if inv.subscription in (None, sub.id) and (
                inv.status == "paid" or (inv.status == "open" and failing)
            ):
                payment_record(membership=membership, invoice=inv)
        current = membership.stripe_subscription_id
        if current and current != sub.id:
            # A new subscription takes over only when it is paid for and the current one is not
            # (a rejoin, or a renewal by Checkout while in grace); the one it replaces is ended.
            current_paid = membership.stripe_subscription_status in _PAID_STRIPE
            if current_paid or sub.status not in _PAID_STRIPE:
                return membership
            if membership.stripe_subscription_status in _LIVE_STRIPE:
                _queue_subscription_cancel(current)
        before = membership.state
        membership.stripe_subscription_id = sub.id
        membership.stripe_subscription_status = sub.status
        membership.stripe_customer_id = sub.customer or membership.stripe_customer_id
        membership.current_period_end = sub.current_period_end
        now = timezone.now()
        reason = f"Stripe subscription {sub.id} is {sub.status}"
        if sub.status in {"active", "trialing"}:
            membership.state = State.ACTIVE
            membership.is_complimentary = False
            membership.auto_renew = not (sub.cancel_at_period_end or sub.cancel_at)
            membership.grace_started_at = None
            membership.access_ends_at = (sub.current_period_end or now) + grace_days()
            membership.started_at = membership.started_at or now
        elif sub.status in {"past_due", "unpaid"}:
            if membership.state != State.GRACE or membership.grace_started_at is None:
                failed = sub.latest_invoice
                membership.grace_started_at = failed.created if failed else now
            membership.state = State.GRACE
            membership.auto_renew = True
            membership.access_ends_at = membership.grace_started_at + grace_days()
            reason = f"renewal payment failed (subscription {sub.id} is {sub.status})"
        elif sub.status == "canceled":
            membership.auto_renew = False
            ended = sub.ended_at or now
            natural_end = sub.current_period_end and ended >= sub.current_period_end - RENEWAL_SLACK
            if membership.state == State.GRACE and membership.grace_started_at:
                reason = f"subscription {sub.id} ended after failed payments"
            elif natural_end or sub.cancellation_reason == "payment_failed":
                membership.state = State.GRACE
                membership.grace_started_at = ended
                reason = f"subscription {sub.id} ended at the end of its period"
            elif membership.state != State.LAPSED:
                membership.state = State.CANCELED
                membership.access_ends_at = ended
                reason = f"subscription {sub.id} was canceled before its period ended"
            if membership.state == State.GRACE:
                membership.access_ends_at = membership.grace_started_at + grace_days()
        else:  # incomplete, incomplete_expired, paused: nothing paid for yet
            membership.save()
            return membership
        refunded = _dues_refunded(membership, sub) if sub.status in _LIVE_STRIPE else None
        if refunded is not None:
            membership.state = State.CANCELED
            membership.auto_renew = False
            membership.access_ends_at = refunded.refunded_at or now
            reason = (
                f"dues refunded in full (invoice {refunded.number or refunded.stripe_invoice_id})"
            )
            _end_stripe_subscription(membership)
        _settle_by_clock(membership, now)
        if membership.state == State.LAPSED and before != State.LAPSED:
            reason = "grace period over"
        membership.save()
        _record(membership, before, reason=reason)
        _on_enter(membership, before, key=sub.id)
        if membership.state == State.GRACE and before != State.GRACE and sub.status != "canceled":
            notice_queue(
                membership=membership,
                kind=Notice.Kind.PAYMENT_FAILED,
                key=f"{membership.grace_started_at:%Y-%m-%d}",
            )
    return membership


def _settle_by_clock(membership: Membership, now: datetime) -> None:
    """A state that the clock has already moved on from (a replayed or very late event)."""
    if membership.state == State.GRACE and membership.access_ends_at <= now:
        membership.state = State.LAPSED


def membership_apply_checkout(session: gateway.CheckoutSessionData) -> None:
    """Checkout handler for kind "membership": apply the subscription the session created."""
    if session.status != "complete" or not session.subscription:
        return
    membership_apply_subscription(gateway.retrieve_subscription(session.subscription))


def membership_apply_refund(charge: gateway.ChargeData) -> None:
    """Refund handler for dues: record the refund on its payment, then re-apply the
    subscription, which ends the membership when its current dues were refunded in full.
    Order-proof: a refund that arrives before its invoice fetches the customer's invoices."""
    if not charge.payment_intent:
        return
    payment = Payment.objects.filter(stripe_payment_intent_id=charge.payment_intent).first()
    if payment is None and charge.customer:
        holder = Membership.objects.filter(stripe_customer_id=charge.customer).first()
        if holder is not None:
            with transaction.atomic():
                holder = _lock(holder.pk)
                for invoice in gateway.list_invoices(charge.customer):
                    if invoice.status == "paid":
                        payment_record(membership=holder, invoice=invoice)
            payment = Payment.objects.filter(stripe_payment_intent_id=charge.payment_intent).first()
    if payment is None:
        log.info("refund of %s matches no dues payment", charge.id)
        return
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.amount_refunded_cents = charge.amount_refunded_cents
        payment.refunded_at = max((r.created for r in charge.refunds if r.created), default=None)
        payment.status = (
            Payment.Status.REFUNDED if charge.refunded else Payment.Status.PARTIALLY_REFUNDED
        )
        payment.save(update_fields=["amount_refunded_cents", "refunded_at", "status"])
    membership = payment.membership
    if membership.stripe_subscription_id:
        membership_apply_subscription(
            gateway.retrieve_subscription(membership.stripe_subscription_id)
        )


def _dues_refunded(membership: Membership, sub: gateway.SubscriptionData) -> Payment | None:
    """The payment for the subscription's current invoice, if it was refunded in full."""
    if sub.latest_invoice is None:
        return None
    return Payment.objects.filter(
        membership=membership,
        stripe_invoice_id=sub.latest_invoice.id,
        status=Payment.Status.REFUNDED,
    ).first()


def _queue_subscription_cancel(subscription_id: str) -> None:
    from ..tasks import subscription_cancel

    transaction.on_commit(lambda: subscription_cancel.delay(subscription_id))


def _end_stripe_subscription(membership: Membership) -> None:
    """Stop billing a membership that ended on our side (lapse, refund, cancel, deletion)."""
    if membership.stripe_subscription_id and membership.stripe_subscription_status in _LIVE_STRIPE:
        _queue_subscription_cancel(membership.stripe_subscription_id)
