"""Paying: open Stripe Checkout, confirm what Stripe reports paid, retake lapsed seats."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments import gateway

from .. import capacity
from ..models import Order, Session
from .common import (
    HoldLapsed,
    RegistrationError,
    SoldOut,
    _check_code_uses,
    _confirm,
    _queue_refund,
    _seats_freed,
)


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
                _seats_freed(order.conference_id)
        raise HoldLapsed(
            "The seats of this order were held for "
            f"{settings.CONFERENCE_HOLD_MINUTES} minutes and have been released. "
            "Register again to take seats."
        )
    lines = {}
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


def order_mark_paid(*, order_id: int, payment_intent_id: str = "", amount_cents: int | None = None):
    """Confirm an order whose payment Stripe reports complete. Safe to call any number of times.

    A payment that arrives after the hold expired takes the seats again if they are still free;
    when they are gone, the order is canceled and the whole payment refunded. A payment for an
    order canceled before it was paid is refunded in full.
    """
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
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


def _retake_seats(*, order_id: int, now) -> None:
    order = Order.objects.get(pk=order_id)
    attendees = list(order.attendees.select_related("ticket_type").prefetch_related("choices"))
    type_ids = {a.ticket_type_id for a in attendees if a.ticket_type.capacity is not None}
    session_ids = {c.session_id for a in attendees for c in a.choices.all()}
    seats = capacity.lock_capacity(conference_id=order.conference_id)
    use = capacity.seat_use(
        conference_id=order.conference_id, ticket_type_ids=type_ids, session_ids=session_ids
    )
    if use.conference + len(attendees) > seats:
        raise SoldOut("The conference is sold out.")
    for ticket_type in {a.ticket_type for a in attendees if a.ticket_type_id in type_ids}:
        wanted = sum(1 for a in attendees if a.ticket_type_id == ticket_type.pk)
        if use.by_ticket_type.get(ticket_type.pk, 0) + wanted > ticket_type.capacity:
            raise SoldOut(f"{ticket_type.name} is sold out.")
    for session in Session.objects.filter(pk__in=session_ids):
        wanted = sum(1 for a in attendees for c in a.choices.all() if c.session_id == session.pk)
        if use.by_session.get(session.pk, 0) + wanted > session.capacity:
            raise SoldOut(f"{session.title} is sold out.")
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


def order_checkout_completed(session) -> None:
    """The gateway's handler for Checkout Sessions of kind "conference_order".

    `session` is the gateway's CheckoutSessionData, re-read from Stripe. Only a complete,
    paid session confirms; expired or unpaid ones change nothing (the hold lapses on its own).
    """
    if session.status != "complete" or session.payment_status not in (
        "paid",
        "no_payment_required",
    ):
        return
    order_mark_paid(
        order_id=int(session.metadata["order_id"]),
        payment_intent_id=session.payment_intent or "",
        amount_cents=session.amount_total,
    )
