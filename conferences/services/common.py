"""Errors, the attendee spec and the helpers every stage of registration shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import OperationalError, transaction

from .. import capacity
from ..models import (
    SEAT_HOLDING_STATUSES,
    AccessCode,
    Attendee,
    DiscountCode,
    Order,
    Refund,
    TicketType,
    format_cents,
)


class RegistrationError(Exception):
    """A registration that cannot go ahead; the message is written for the buyer."""


class SoldOut(RegistrationError):
    """A ticket type, a break-out or the whole conference has no seat left.

    `what` names the full thing ("conference", "type:<pk>", "session:<pk>") when none is left
    at all, so the next buyers can be told without a trip to the database.
    """

    def __init__(self, message: str, *, ticket_type: TicketType | None = None, what: str = ""):
        super().__init__(message)
        self.ticket_type = ticket_type
        self.what = what


class RegistrationBusy(RegistrationError):
    """The capacity locks were not free within the lock timeout."""


class UnpaidOrderExists(RegistrationError):
    """The account already has an unpaid order for this conference (one at a time)."""

    def __init__(self, order: Order):
        super().__init__(
            f"You already have an unpaid order ({order.code}) for this conference. Pay it or "
            "cancel it before you register again."
        )
        self.order = order


class HoldLapsed(RegistrationError):
    """The order's hold ran out before it was paid; it cannot be paid any more."""


class PaymentAmountMismatch(Exception):
    """Stripe reports another amount paid than the order costs: nothing is confirmed, for
    staff to look into (this is not a buyer's mistake, so it is no RegistrationError)."""

    def __init__(self, order: Order, *, amount_cents: int):
        super().__init__(
            f"Stripe reports {format_cents(amount_cents)} paid for order {order.code}, which "
            f"costs {format_cents(order.total_cents)}; the order was not confirmed."
        )
        self.order = order
        self.amount_cents = amount_cents


class SeatsAvailable(RegistrationError):
    """A waitlist was asked for something that still has seats: register instead."""


BUSY_MESSAGE = "Many people are registering at this moment. Please try again in a few seconds."


@dataclass
class AttendeeSpec:
    first_name: str
    last_name: str
    email: str
    ticket_type_id: int
    practice: str = ""
    dietary_needs: str = ""
    accessibility_needs: str = ""
    session_ids: list[int] = field(default_factory=list)


def _is_lock_timeout(error: OperationalError) -> bool:
    # 55P03 lock_not_available (lock_timeout), 40P01 deadlock_detected.
    code = getattr(getattr(error, "__cause__", None), "sqlstate", None)
    return code in {"55P03", "40P01"}


@contextmanager
def _busy_as_registration_error() -> Iterator[None]:
    """A seat lock that stays taken becomes RegistrationBusy, for the page to say so."""
    try:
        yield
    except OperationalError as error:
        if _is_lock_timeout(error):
            raise RegistrationBusy(BUSY_MESSAGE) from error
        raise


def _check_code_uses(
    *,
    order: Order,
    discount: DiscountCode | None,
    discounted: int,
    access_pass: AccessCode | None,
    unlocked: set[int],
    hidden: int,
) -> None:
    """Under the seat lock: refuse when this order's `discounted` and `hidden` tickets would
    take its discount or access code past its uses. Other orders are counted whatever this
    order's status, so it serves a new order and one whose lapsed hold is retaken alike."""
    if discount and discount.max_uses is not None:
        used = (
            Attendee.objects.filter(
                order__discount_code=discount,
                order__status__in=SEAT_HOLDING_STATUSES,
                discount_cents__gt=0,
            )
            .exclude(order=order)
            .count()
        )
        if used + discounted > discount.max_uses:
            raise RegistrationError(f"The code {discount.code} has been used up.")
    if access_pass:
        used = (
            Attendee.objects.filter(
                order__access_code=access_pass,
                order__status__in=SEAT_HOLDING_STATUSES,
                ticket_type_id__in=unlocked,
            )
            .exclude(order=order)
            .count()
        )
        left = max(0, access_pass.max_uses - used)
        if hidden > left:
            if left == 0:
                raise RegistrationError(f"The access code {access_pass.code} has been used up.")
            raise RegistrationError(
                f"The access code {access_pass.code} covers only {left} more "
                f"ticket{'s' if left != 1 else ''}."
            )


def _sold_out(short: capacity.Shortage, *, conference_id: int) -> SoldOut:
    """The SoldOut to raise for a shortage counted under the seat lock. A thing with no seat
    left at all is noted for a moment (capacity.remember_sold_out), so the buyers still
    clicking are told without a count."""
    what = "" if short.left else short.what
    if what:
        capacity.remember_sold_out(
            conference_id=conference_id,
            what=what,
            message=short.message,
            ticket_type_id=short.ticket_type.pk if short.ticket_type else None,
        )
    return SoldOut(short.message, ticket_type=short.ticket_type, what=what)


def _confirm(order: Order, *, now: datetime) -> None:
    # local: conferences.tasks imports the services at module level
    from .. import tasks

    order.status = Order.Status.PAID
    order.paid_at = now
    order.hold_expires_at = None
    order.save(update_fields=["status", "paid_at", "hold_expires_at"])
    from .invoicing import invoice_for_paid_order  # invoicing imports this module

    invoice_for_paid_order(order, now=now)
    transaction.on_commit(lambda: tasks.send_order_confirmation.delay(order.pk))


def _seats_freed(conference_id: int) -> None:
    """After the commit: forget "sold out" notes and offer the seats to the waitlist."""
    # local: conferences.tasks imports the services at module level
    from .. import tasks

    def after() -> None:
        capacity.forget_sold_out(conference_id=conference_id)
        tasks.waitlist_offer_seats.delay(conference_id)

    transaction.on_commit(after)


def _queue_refund(order: Order, *, amount_cents: int, reason: str) -> Refund:
    # local: conferences.tasks imports the services at module level
    from .. import tasks

    refund = Refund.objects.create(order=order, amount_cents=amount_cents, reason=reason)
    order.refunded_cents += amount_cents
    order.save(update_fields=["refunded_cents"])
    from .invoicing import invoice_for_refund  # invoicing imports this module

    invoice_for_refund(order, refund_id=refund.pk, amount_cents=amount_cents)
    transaction.on_commit(lambda: tasks.refund_send.delay(refund.pk))
    return refund
