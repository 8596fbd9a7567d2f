"""Applying Stripe's state: subscriptions, their invoices as payments, and refunds.

Stripe's state is applied, never its story: webhook handlers re-read the subscription and
`membership_apply_subscription` makes our row match it, so duplicate and out-of-order events
end in the same place."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from payments import gateway

from ..models import Membership, Notice, Payment
from .common import RENEWAL_SLACK, State, _lock, _on_enter, _record, access_end
from .invoices import dues_credit_for_refund, dues_invoice_for_card
from .notices import notice_queue

log = logging.getLogger(__name__)

Stripe = gateway.SubscriptionStatus

# What a subscription's status means for billing (a stored status may also be "", none yet).
_PAID = frozenset({Stripe.ACTIVE, Stripe.TRIALING})  # the dues are paid
_RETRYING = frozenset({Stripe.PAST_DUE})  # a renewal failed; Stripe retries the card
# Past its last automatic retry Stripe either cancels (reason payment_failed) or leaves the
# subscription unpaid (the account's "manage failed payments" setting): no more tries, though
# the member may still pay the open invoice, which makes an unpaid subscription active again.
_GAVE_UP = frozenset({Stripe.UNPAID})
_UNPAID_INVOICE = frozenset({gateway.InvoiceStatus.OPEN, gateway.InvoiceStatus.UNCOLLECTIBLE})
# Stripe may still charge the card: end it when we end the membership.
_BILLING = _PAID | _RETRYING | _GAVE_UP


class Side(models.TextChoices):
    """Where Stripe's subscription stands, as far as member access cares (`stripe_side`)."""

    PAID = "paid", "Paid (active, trialing)"
    RETRYING = "retrying", "A renewal failed, Stripe retries (past due)"
    GAVE_UP = "gave_up", "Stripe stopped retrying (unpaid, or canceled for nonpayment)"
    ENDED_AT_PERIOD_END = "ended_at_period_end", "Canceled at its period end"
    ENDED_EARLY = "ended_early", "Canceled before its period ended"
    NOT_STARTED = "not_started", "Never paid (incomplete, incomplete expired, paused)"


class GraceStart(models.TextChoices):
    """Where a transition takes `grace_started_at` from."""

    CLEAR = "clear", "No grace (cleared)"
    KEEP = "keep", "As it was"
    FAILED_INVOICE = "failed_invoice", "When the failed invoice was created (now if none)"
    SUBSCRIPTION_END = "subscription_end", "When the subscription ended (now if not known)"


@dataclass(frozen=True)
class Transition:
    to: State  # the new state; access_end() then says when access stops
    grace: GraceStart
    reason: str


# Reasons for the state history: {sub} is the subscription's id, {status} its status.
_SAYS = "Stripe subscription {sub} is {status}"
_FAILED = "renewal payment failed (subscription {sub} is {status})"
_IN_GRACE = "subscription {sub} ended after failed payments"
_GAVE_UP_SAYS = "Stripe stopped retrying the renewal payment (subscription {sub} is {status})"
_AT_END = "subscription {sub} ended at the end of its period"
_EARLY = "subscription {sub} was canceled before its period ended"
_T, _G = Transition, GraceStart

# (where Stripe stands, the membership's state now) -> the state it moves to, where its grace
# starts, and why. A grace period without a start date counts as active. Side.NOT_STARTED has
# no rows: a subscription never paid for changes nothing but the Stripe fields.
TRANSITIONS: dict[tuple[Side, State], Transition] = {
    (Side.PAID, State.PENDING): _T(State.ACTIVE, _G.CLEAR, _SAYS),
    (Side.PAID, State.ACTIVE): _T(State.ACTIVE, _G.CLEAR, _SAYS),
    (Side.PAID, State.GRACE): _T(State.ACTIVE, _G.CLEAR, _SAYS),
    (Side.PAID, State.LAPSED): _T(State.ACTIVE, _G.CLEAR, _SAYS),
    (Side.PAID, State.CANCELED): _T(State.ACTIVE, _G.CLEAR, _SAYS),
    (Side.RETRYING, State.PENDING): _T(State.GRACE, _G.FAILED_INVOICE, _FAILED),
    (Side.RETRYING, State.ACTIVE): _T(State.GRACE, _G.FAILED_INVOICE, _FAILED),
    (Side.RETRYING, State.GRACE): _T(State.GRACE, _G.KEEP, _FAILED),
    (Side.RETRYING, State.LAPSED): _T(State.GRACE, _G.FAILED_INVOICE, _FAILED),
    (Side.RETRYING, State.CANCELED): _T(State.GRACE, _G.FAILED_INVOICE, _FAILED),
    # Grace runs from the failed renewal, never from Stripe's last try (weeks later), so giving
    # up adds no access; a lapsed or canceled membership stays as it is.
    (Side.GAVE_UP, State.PENDING): _T(State.GRACE, _G.FAILED_INVOICE, _GAVE_UP_SAYS),
    (Side.GAVE_UP, State.ACTIVE): _T(State.GRACE, _G.FAILED_INVOICE, _GAVE_UP_SAYS),
    (Side.GAVE_UP, State.GRACE): _T(State.GRACE, _G.KEEP, _GAVE_UP_SAYS),
    (Side.GAVE_UP, State.LAPSED): _T(State.LAPSED, _G.KEEP, _GAVE_UP_SAYS),
    (Side.GAVE_UP, State.CANCELED): _T(State.CANCELED, _G.KEEP, _GAVE_UP_SAYS),
    (Side.ENDED_AT_PERIOD_END, State.PENDING): _T(State.GRACE, _G.SUBSCRIPTION_END, _AT_END),
    (Side.ENDED_AT_PERIOD_END, State.ACTIVE): _T(State.GRACE, _G.SUBSCRIPTION_END, _AT_END),
    (Side.ENDED_AT_PERIOD_END, State.GRACE): _T(State.GRACE, _G.KEEP, _IN_GRACE),
    (Side.ENDED_AT_PERIOD_END, State.LAPSED): _T(State.GRACE, _G.SUBSCRIPTION_END, _AT_END),
    (Side.ENDED_AT_PERIOD_END, State.CANCELED): _T(State.GRACE, _G.SUBSCRIPTION_END, _AT_END),
    (Side.ENDED_EARLY, State.PENDING): _T(State.CANCELED, _G.KEEP, _EARLY),
    (Side.ENDED_EARLY, State.ACTIVE): _T(State.CANCELED, _G.KEEP, _EARLY),
    (Side.ENDED_EARLY, State.GRACE): _T(State.GRACE, _G.KEEP, _IN_GRACE),
    (Side.ENDED_EARLY, State.LAPSED): _T(State.LAPSED, _G.KEEP, _SAYS),
    (Side.ENDED_EARLY, State.CANCELED): _T(State.CANCELED, _G.KEEP, _EARLY),
}


def stripe_side(sub: gateway.SubscriptionData, now: datetime) -> Side:
    """Stripe gave up when it left the subscription unpaid or canceled it for nonpayment
    (`cancellation_details.reason` payment_failed). Another canceled subscription ended at its
    period end when it ended within RENEWAL_SLACK of it (the member gets grace); otherwise it
    ended early."""
    if sub.status in _PAID:
        return Side.PAID
    if sub.status in _RETRYING:
        return Side.RETRYING
    if sub.status in _GAVE_UP:
        return Side.GAVE_UP
    if sub.status != Stripe.CANCELED:
        return Side.NOT_STARTED
    if sub.cancellation_reason == gateway.CancellationReason.PAYMENT_FAILED:
        return Side.GAVE_UP
    ended = sub.ended_at or now
    if sub.current_period_end and ended >= sub.current_period_end - RENEWAL_SLACK:
        return Side.ENDED_AT_PERIOD_END
    return Side.ENDED_EARLY


def _grace_start(
    rule: GraceStart, membership: Membership, sub: gateway.SubscriptionData, now: datetime
) -> datetime | None:
    if rule == GraceStart.CLEAR:
        return None
    if rule == GraceStart.FAILED_INVOICE:
        return sub.latest_invoice.created if sub.latest_invoice else now
    if rule == GraceStart.SUBSCRIPTION_END:
        return sub.ended_at or now
    return membership.grace_started_at


def _membership_for_subscription(sub: gateway.SubscriptionData) -> Membership | None:
    pk = sub.metadata.get("membership")
    query = Q(stripe_subscription_id=sub.id)
    if pk and pk.isdigit():
        query |= Q(pk=int(pk))
    # One query: find and lock (the lowest pk, as _lock would have locked it).
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("plan", "user")
        .filter(query)
        .order_by("pk")
        .first()
    )


def payment_record(*, membership: Membership, invoice: gateway.InvoiceData) -> Payment:
    """Upsert the dues payment for a Stripe invoice: paid, or open after a failed attempt.
    A refund recorded earlier is kept. Writes only what changed (a replayed event writes
    nothing). Runs under the membership's row lock (the callers take it)."""
    existing = Payment.objects.select_for_update().filter(stripe_invoice_id=invoice.id).first()
    paid = invoice.status == gateway.InvoiceStatus.PAID
    if existing and existing.status in {Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED}:
        status = existing.status
    elif paid:
        status = Payment.Status.PAID
    else:
        status = Payment.Status.FAILED
    user = membership.user
    defaults = {
        "membership_id": membership.pk,
        "stripe_payment_intent_id": invoice.payment_intent or "",
        "number": invoice.number,
        "status": status,
        "amount_cents": (
            invoice.amount_paid
            if invoice.status == gateway.InvoiceStatus.PAID
            else invoice.amount_due
        ),
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
    changed: list[str] = []
    if existing is None:
        payment = Payment.objects.create(stripe_invoice_id=invoice.id, **defaults)
    else:
        changed = [name for name, value in defaults.items() if getattr(existing, name) != value]
        for name in changed:
            setattr(existing, name, defaults[name])
        if changed:
            existing.save(update_fields=changed)
        payment = existing
    if paid and not (existing and existing.status == Payment.Status.PAID and not changed):
        # Our numbered invoice and receipt, once per Stripe invoice (keyed by its id). They
        # were written with the paid payment, in its transaction: a replay has nothing to add.
        dues_invoice_for_card(membership=membership, invoice=invoice)
    return payment


def membership_apply_subscription(
    sub: gateway.SubscriptionData, invoice: gateway.InvoiceData | None = None
) -> Membership | None:
    """Make the membership match Stripe's current view of its subscription.

    Idempotent and order-proof: it reads no event history, only the subscription (and the
    invoice, recorded as a payment). A subscription that is not the membership's current one
    only takes over when the current one has ended, so a late event about an old subscription
    never undoes a rejoin. The new state comes from TRANSITIONS; then dues refunded in full
    cancel the membership, and a grace period the clock has already ended is lapsed.
    """
    # No savepoint inside the webhook's transaction: nothing here is caught and carried on from.
    with transaction.atomic(savepoint=False):
        membership = _membership_for_subscription(sub)
        if membership is None:
            log.warning("subscription %s names no membership we know", sub.id)
            return None
        now = timezone.now()
        side = stripe_side(sub, now)
        # An open (or, once Stripe gave up, uncollectible) invoice is a failed attempt once
        # Stripe says the renewal failed or ended.
        failed = side in (Side.RETRYING, Side.GAVE_UP, Side.ENDED_AT_PERIOD_END, Side.ENDED_EARLY)
        to_record = [
            inv
            for inv in {i.id: i for i in (invoice, sub.latest_invoice) if i}.values()
            if inv.subscription in (None, sub.id)
            and (
                inv.status == gateway.InvoiceStatus.PAID
                or (inv.status in _UNPAID_INVOICE and failed)
            )
        ]
        _match_subscription(membership, sub, side, now)
        # Recorded last: a paid invoice takes our invoice and receipt numbers, whose counters
        # every other payment waits on until this commits. What came before does not depend
        # on it: a refund that ends the membership was recorded on an existing payment.
        for inv in to_record:
            payment_record(membership=membership, invoice=inv)
    return membership


def _match_subscription(
    membership: Membership, sub: gateway.SubscriptionData, side: Side, now: datetime
) -> None:
    """The membership's state and Stripe fields as the subscription says (under its lock)."""
    current = membership.stripe_subscription_id
    if current and current != sub.id:
        # A new subscription takes over only when it is paid for and the current one is not
        # (a rejoin, or a renewal by Checkout while in grace); the one it replaces is ended.
        if membership.stripe_subscription_status in _PAID or sub.status not in _PAID:
            return
        if membership.stripe_subscription_status in _BILLING:
            _queue_subscription_cancel(current)
    before = membership.state
    membership.stripe_subscription_id = sub.id
    membership.stripe_subscription_status = sub.status
    membership.stripe_customer_id = sub.customer or membership.stripe_customer_id
    membership.current_period_end = sub.current_period_end
    if side == Side.NOT_STARTED:
        membership.save()
        return
    # A grace period without a start date (we never write one) has nothing to extend.
    started_grace = before != State.GRACE or membership.grace_started_at is not None
    step = TRANSITIONS[side, State(before) if started_grace else State.ACTIVE]
    membership.state = step.to
    membership.grace_started_at = _grace_start(step.grace, membership, sub, now)
    reason = step.reason.format(sub=sub.id, status=sub.status)
    _take_renewal_terms(membership, sub, side, now)
    ended_at = sub.ended_at
    if ended_at is None and before == step.to == State.CANCELED:
        # Still canceled, and Stripe names no end (an unpaid subscription): it ended when our
        # cancellation said.
        ended_at = membership.access_ends_at
    refunded = _dues_refunded(membership, sub) if sub.status in _BILLING else None
    if refunded is not None:
        membership.state = State.CANCELED
        membership.auto_renew = False
        ended_at = refunded.refunded_at
        reason = f"dues refunded in full (invoice {refunded.number or refunded.stripe_invoice_id})"
    membership.access_ends_at = access_end(membership, ended_at=ended_at, now=now)
    if refunded is not None:
        _end_stripe_subscription(membership)
    _settle_by_clock(membership, now)
    if membership.state == State.LAPSED and before != State.LAPSED:
        reason = "grace period over"
    membership.save()
    _record(membership, before, reason=reason)
    _on_enter(membership, before, key=sub.id)
    if (
        membership.state == State.GRACE
        and before != State.GRACE
        and side in (Side.RETRYING, Side.GAVE_UP)
    ):
        notice_queue(
            membership=membership,
            kind=Notice.Kind.PAYMENT_FAILED,
            key=f"{membership.grace_started_at:%Y-%m-%d}",
        )


def _take_renewal_terms(
    membership: Membership, sub: gateway.SubscriptionData, side: Side, now: datetime
) -> None:
    """Whether the membership renews: as the member set it on a paid subscription; yes while
    Stripe retries the card; no once the subscription has ended."""
    if side == Side.PAID:
        membership.is_complimentary = False
        membership.auto_renew = not (sub.cancel_at_period_end or sub.cancel_at)
        membership.started_at = membership.started_at or now
    else:
        membership.auto_renew = side == Side.RETRYING


def _settle_by_clock(membership: Membership, now: datetime) -> None:
    """A state that the clock has already moved on from (a replayed or very late event)."""
    if (
        membership.state == State.GRACE
        and membership.access_ends_at is not None
        and membership.access_ends_at <= now
    ):
        membership.state = State.LAPSED


def membership_apply_checkout(session: gateway.CheckoutSessionData) -> None:
    """Checkout handler for kind "membership": apply the subscription the session created."""
    if session.status != gateway.CheckoutSessionStatus.COMPLETE or not session.subscription:
        return
    membership_apply_subscription(
        session.subscription_now or gateway.retrieve_subscription(session.subscription)
    )


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
                    if invoice.status == gateway.InvoiceStatus.PAID:
                        payment_record(membership=holder, invoice=invoice)
            payment = Payment.objects.filter(stripe_payment_intent_id=charge.payment_intent).first()
    if payment is None:
        log.info("refund of %s matches no dues payment", charge.id)
        return
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if charge.amount_refunded_cents > payment.amount_refunded_cents:
            dues_credit_for_refund(
                stripe_invoice_id=payment.stripe_invoice_id,
                charge=charge,
                refunded_before=payment.amount_refunded_cents,
            )
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
    from ..tasks import subscription_cancel  # membership.tasks imports membership.services

    transaction.on_commit(lambda: subscription_cancel.delay(subscription_id))


def _end_stripe_subscription(membership: Membership) -> None:
    """Stop billing a membership that ended on our side (lapse, refund, cancel, deletion)."""
    if membership.stripe_subscription_id and membership.stripe_subscription_status in _BILLING:
        _queue_subscription_cancel(membership.stripe_subscription_id)
