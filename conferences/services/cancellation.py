"""Cancellation and refunds: what the policy gives back, and asking Stripe for it."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from payments import gateway

from ..models import ConferencePage, Order, Refund
from .common import (
    RegistrationError,
    _queue_refund,
    _seats_freed,
)
from .invoicing import invoice_for_closed_hold


def order_refund_amount(*, order: Order, on: date | None = None) -> int:
    """What the cancellation policy gives back if the order is canceled on `on`."""
    on = on or timezone.localdate()
    paid = order.total_cents - order.refunded_cents
    return paid * order.conference.refund_percent(on) // 100


def order_cancel(*, order_id: int, by_user: User) -> Order:
    """Cancel an order, refund what the policy allows and offer its seats to the waitlist.

    The owner may cancel their own order; staff any order (and staff always refund in full).
    Raises PermissionError for anyone else, RegistrationError when there is nothing to cancel.
    """

    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("conference").get(pk=order_id)
        if order.owner_id != by_user.pk and not by_user.is_staff:
            raise PermissionError("Only the person who placed the order can cancel it.")
        if order.status not in (Order.Status.HELD, Order.Status.PAID):
            raise RegistrationError("This order is already closed.")
        was_paid = order.status == Order.Status.PAID
        now = timezone.now()
        order.status = Order.Status.CANCELED
        order.canceled_at = now
        order.save(update_fields=["status", "canceled_at"])
        if not was_paid:
            invoice_for_closed_hold(order, note="Order canceled before payment")
        if was_paid:
            amount = (
                order.total_cents - order.refunded_cents
                if by_user.is_staff and order.owner_id != by_user.pk
                else order_refund_amount(order=order)
            )
            if amount:
                _queue_refund(order, amount_cents=amount, reason="Canceled")
        conference_id = order.conference_id
        _seats_freed(conference_id)
    return order


def refund_send(*, refund_id: int) -> Refund:
    """Ask Stripe for a queued refund. The idempotency key is the refund's id, so a retried
    task never refunds twice."""
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    if not refund.order.stripe_payment_intent_id:
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.NOTHING_TO_REFUND)
        return refund
    ref = gateway.refund_payment(
        payment_intent_id=refund.order.stripe_payment_intent_id,
        amount_cents=refund.amount_cents,
        idempotency_key=f"conference-refund-{refund.pk}",
        metadata={"kind": "conference_order", "order_id": str(refund.order_id)},
    )
    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(
            stripe_refund_id=ref.id, status=ref.status or Refund.Status.SUCCEEDED
        )
    refund.refresh_from_db()
    return refund


def describe_refund_policy(conference: ConferencePage) -> list[str]:
    """The policy in plain words, for the order page and the receipt."""
    lines = []
    if conference.full_refund_until:
        lines.append(f"Full refund until {date_format(conference.full_refund_until)}.")
    if conference.partial_refund_until:
        lines.append(
            f"{conference.partial_refund_percent}% refund until "
            f"{date_format(conference.partial_refund_until)}."
        )
    if lines:
        lines.append("No refund after that; you can still send a colleague in your place.")
    else:
        lines.append("Cancellations are not refunded; you can send a colleague in your place.")
    return lines
