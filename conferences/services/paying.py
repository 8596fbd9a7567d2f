"""Paying: open Stripe Checkout, confirm what Stripe reports paid, retake lapsed seats."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments import gateway

from .. import capacity
from ..models import Order, Session
from .common import (
    HoldLapsed,
    PaymentAmountMismatch,
    RegistrationError,
    SoldOut,
    _check_code_uses,
    _confirm,
    _queue_refund,
    _seats_freed,
)
from .invoicing import invoice_for_closed_hold

log = logging.getLogger(__name__)


def order_checkout_start(*, order: Order, success_url: str, cancel_url: str) -> str:
    """Open (or reopen) a Stripe Checkout Session for a held order; returns its URL.

    The idempotency key is made from the order code, so a double click opens one session.
    Raises RegistrationError when the order no longer waits for payment, HoldLapsed (and
    releases the seats) when its hold has run out: a lapsed hold is never paid for again,
    the owner registers afresh and the seats are counted again under the lock.
    """
    if order.status != Order.Status.HELD:
        raise RegistrationError("This order is not waiting for payment.")
    if order.hold_lapsed():
        with transaction.atomic():
            if Order.objects.filter(pk=order.pk, status=Order.Status.HELD).update(
                status=Order.Status.EXPIRED
            ):
                invoice_for_closed_hold(order, note="Seats released: not paid by the due date")
                _seats_freed(order.conference_id)
        raise HoldLapsed(
            "The seats of this order were held for "
            f"{settings.CONFERENCE_HOLD_MINUTES} minutes and have been released. "
            "Register again to take seats."
        )
    lines: dict[tuple[str, int], int] = {}
    for attendee in order.attendees.select_related("ticket_type"):
        amount = attendee.price_cents - attendee.discount_cents
        key = (attendee.ticket_type.name, amount)
        lines[key] = lines.get(key, 0) + 1
    ref = gateway.create_payment_checkout(
        line_items=[
            {"name": f"{order.conference.title}: {name}", "amount_cents": amount, "quantity": n}
            for (name, amount), n in lines.items()
            if amount > 0
        ],
        currency="usd",
        customer_email=order.email,
        metadata={"kind": "conference_order", "order_id": str(order.pk), "order_code": order.code},
        idempotency_key=f"conference-order-{order.code}",
        success_url=success_url,
        cancel_url=cancel_url,
    )
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(stripe_checkout_session_id=ref.id)
    return ref.url


def order_mark_paid(
    *, order_id: int, payment_intent_id: str = "", amount_cents: int | None = None
) -> Order:
    """Confirm an order whose payment Stripe reports complete. Safe to call any number of times.

    A payment that arrives after the hold expired takes the seats again if they are still free;
    when they are gone, the order is canceled and the whole payment refunded. A payment for an
    order canceled before it was paid is refunded in full. `amount_cents`, when given, is what
    Stripe says was paid: any other amount than the order's total raises PaymentAmountMismatch
    and changes nothing.
    """
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if amount_cents is not None and amount_cents != order.total_cents:
            raise PaymentAmountMismatch(order, amount_cents=amount_cents)
        if payment_intent_id and not order.stripe_payment_intent_id:
            order.stripe_payment_intent_id = payment_intent_id
            order.save(update_fields=["stripe_payment_intent_id"])
        if order.status == Order.Status.PAID:
            return order
        if order.status == Order.Status.HELD:
            _confirm(order, now=now)
            return order
        if order.status == Order.Status.CANCELED:
            if not order.paid_at:
                # Canceled while the Checkout page was still open: give the money back.
                order.paid_at = now
                order.save(update_fields=["paid_at"])
                _queue_refund(order, amount_cents=order.total_cents, reason="Paid after canceling")
            return order
    # The hold lapsed before the money came: take the seats again under the locks.
    try:
        with transaction.atomic():
            _retake_seats(order_id=order_id, now=now)
    except RegistrationError:  # sold out, or a code's uses went to others meanwhile
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            order.status = Order.Status.CANCELED
            order.paid_at = order.canceled_at = now
            order.save(update_fields=["status", "paid_at", "canceled_at"])
            _queue_refund(order, amount_cents=order.total_cents, reason="Paid after seats lapsed")
    return Order.objects.get(pk=order_id)


def _retake_seats(*, order_id: int, now: datetime) -> None:
    """Confirm an order whose hold lapsed before its payment came, if its seats still fit
    (counted under the seat lock) and its codes still have uses; raise SoldOut or
    RegistrationError otherwise. The order holds no seat while it is expired, so the count
    does not include its own."""
    order = Order.objects.get(pk=order_id)
    attendees = list(order.attendees.select_related("ticket_type").prefetch_related("choices"))
    ticket_types = {a.ticket_type_id: a.ticket_type for a in attendees}
    session_ids = {c.session_id for a in attendees for c in a.choices.all()}
    wanted = capacity.SeatUse(
        conference=len(attendees),
        by_ticket_type=dict(Counter(a.ticket_type_id for a in attendees)),
        by_session=dict(Counter(c.session_id for a in attendees for c in a.choices.all())),
    )
    seats = capacity.lock_capacity(conference_id=order.conference_id)
    use = capacity.seat_use(
        conference_id=order.conference_id,
        ticket_type_ids=[pk for pk, t in ticket_types.items() if t.capacity is not None],
        session_ids=session_ids,
    )
    short = capacity.shortage(
        taken=use,
        wanted=wanted,
        conference_capacity=seats,
        ticket_types=ticket_types,
        sessions=Session.objects.in_bulk(session_ids),
    )
    if short:
        raise SoldOut(short.message)
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("discount_code", "access_code")
        .get(pk=order_id)
    )
    access_pass = order.access_code
    unlocked = {t.pk for t in access_pass.ticket_types.all()} if access_pass else set()
    _check_code_uses(
        order=order,
        discount=order.discount_code,
        discounted=sum(1 for a in attendees if a.discount_cents),
        access_pass=access_pass,
        unlocked=unlocked,
        hidden=sum(1 for a in attendees if a.ticket_type_id in unlocked),
    )
    _confirm(order, now=now)


def order_checkout_completed(session: gateway.CheckoutSessionData) -> None:
    """The gateway's handler for Checkout Sessions of kind "conference_order".

    `session` is the gateway's CheckoutSessionData, re-read from Stripe. Only a complete,
    paid session confirms; expired or unpaid ones change nothing (the hold lapses on its own).
    """
    if session.status != gateway.CheckoutSessionStatus.COMPLETE or session.payment_status not in (
        gateway.CheckoutPaymentStatus.PAID,
        gateway.CheckoutPaymentStatus.NO_PAYMENT_REQUIRED,
    ):
        return
    try:
        order_mark_paid(
            order_id=int(session.metadata["order_id"]),
            payment_intent_id=session.payment_intent or "",
            amount_cents=session.amount_total,
        )
    except PaymentAmountMismatch as error:
        # Not confirmed. Raising lets payments record the error on the stored event, retry
        # it and then park it as failed, listed for staff with its error.
        log.error("Checkout Session %s not applied: %s", session.id, error)
        raise
