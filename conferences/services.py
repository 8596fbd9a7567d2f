"""Every write registration makes: orders, seats, payment, waitlist, cancellation, check-in.

Each service is keyword-only, runs in one transaction and queues slow work (mail, Stripe
refunds) with transaction.on_commit, so a task never sees a row that was rolled back.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from membership import access
from payments import gateway

from . import capacity, selectors
from .models import (
    CANCELLED,
    EXPIRED,
    HELD,
    PAID,
    SEAT_HOLDING_STATUSES,
    AccessCode,
    Attendee,
    BreakoutChoice,
    ConferencePage,
    DiscountCode,
    Order,
    Refund,
    Session,
    TicketType,
    WaitlistEntry,
)

log = logging.getLogger(__name__)


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
def _busy_as_registration_error():
    """A seat lock that stays taken becomes RegistrationBusy, for the page to say so."""
    try:
        yield
    except OperationalError as error:
        if _is_lock_timeout(error):
            raise RegistrationBusy(BUSY_MESSAGE) from error
        raise


# --- Creating an order --------------------------------------------------------------------------


def order_create(
    *,
    conference_id: int,
    owner,
    attendees: list[AttendeeSpec],
    discount_code: str = "",
    access_code: str = "",
    waitlist_token: str = "",
) -> Order:
    """Hold seats for named attendees in one order, priced for the owner's membership.

    The owner's price tier (member or non-member, early-bird when it applies) prices every
    ticket; a discount code comes off on top. Hidden ticket types need an access code that
    unlocks them, within its uses. Seats are held for CONFERENCE_HOLD_MINUTES; an order that
    costs nothing is confirmed at once. An account has at most one unpaid order per
    conference, and an order at most the conference's max_attendees_per_order attendees.
    Raises SoldOut when a ticket type, break-out or the conference is full,
    UnpaidOrderExists when the owner already has an unpaid order here,
    RegistrationBusy when the capacity locks stay taken, RegistrationError otherwise.
    """
    if not attendees:
        raise RegistrationError("Add at least one attendee.")
    if not waitlist_token:
        # Someone saw it sold out under the locks a moment ago: say so without a query.
        known = capacity.recall_sold_out(
            conference_id=conference_id,
            ticket_type_ids={a.ticket_type_id for a in attendees},
            session_ids={pk for a in attendees for pk in a.session_ids},
        )
        if known:
            ticket_type_id = known.get("ticket_type_id")
            raise SoldOut(
                known["message"],
                ticket_type=TicketType.objects.get(pk=ticket_type_id) if ticket_type_id else None,
                what=known["what"],
            )
    try:
        with transaction.atomic():
            order = _order_create_locked(
                conference_id=conference_id,
                owner=owner,
                attendees=attendees,
                discount_code=discount_code.strip().upper(),
                access_code=access_code.strip().upper(),
                waitlist_token=waitlist_token,
            )
    except IntegrityError as error:
        # Two checkouts by one account at once: the one_unpaid_order_per_owner constraint
        # let the first in and made this one wait for it, then refused it.
        existing = Order.objects.filter(
            conference_id=conference_id, owner=owner, status=HELD
        ).first()
        if existing is None:
            raise
        raise UnpaidOrderExists(existing) from error
    except OperationalError as error:
        if _is_lock_timeout(error):
            raise RegistrationBusy(BUSY_MESSAGE) from error
        raise
    return order


def _order_create_locked(
    *, conference_id, owner, attendees, discount_code, access_code, waitlist_token
):
    now = timezone.now()
    catalogue = selectors.checkout_catalogue(conference_id)
    if catalogue is None:
        raise RegistrationError("There is no such conference.")
    if not catalogue.registration_open or catalogue.end_date < timezone.localdate():
        raise RegistrationError("Registration for this conference is closed.")
    if len(attendees) > catalogue.max_attendees:
        raise RegistrationError(
            f"One order can register at most {catalogue.max_attendees} attendees."
        )
    _refuse_second_unpaid_order(conference_id=conference_id, owner=owner, now=now)
    ticket_types = catalogue.ticket_types
    sessions = catalogue.breakouts
    for spec in attendees:
        ticket_type = ticket_types.get(spec.ticket_type_id)
        if ticket_type is None:
            raise RegistrationError("Choose a ticket type for every attendee.")
        slots = set()
        for session_id in spec.session_ids:
            session = sessions.get(session_id)
            if session is None or not ticket_type.allows_session(session):
                raise RegistrationError(
                    f"{spec.first_name}'s ticket does not include that break-out."
                )
            if session.starts_at in slots:
                raise RegistrationError(
                    f"{spec.first_name} can attend only one break-out per time slot."
                )
            slots.add(session.starts_at)

    access_pass, unlocked = None, set()
    if access_code:
        access_pass = (
            AccessCode.objects.filter(conference_id=conference_id, code=access_code)
            .prefetch_related("ticket_types")
            .first()
        )
        if access_pass is None or not access_pass.is_valid(now):
            raise RegistrationError(f"The access code {access_code} is not valid.")
        unlocked = {t.pk for t in access_pass.ticket_types.all()}
    hidden_tickets = 0
    for spec in attendees:
        ticket_type = ticket_types[spec.ticket_type_id]
        if ticket_type.requires_code:
            if ticket_type.pk not in unlocked:
                raise RegistrationError(f"The {ticket_type.name} ticket needs an access code.")
            hidden_tickets += 1
    if not hidden_tickets:
        access_pass = None  # it unlocked nothing this order buys, so it uses nothing up

    code = None
    if discount_code:
        code = DiscountCode.objects.filter(conference_id=conference_id, code=discount_code).first()
        if code is None or (code.valid_from and now < code.valid_from):
            raise RegistrationError(f"The discount code {discount_code} is not valid.")
        if code.valid_until and now > code.valid_until:
            raise RegistrationError(f"The discount code {discount_code} has expired.")

    offer = None
    if waitlist_token:
        offer = WaitlistEntry.objects.filter(
            token=waitlist_token, user=owner, status=WaitlistEntry.OFFERED
        ).first()
        if offer is None or offer.offer_expires_at <= now:
            raise RegistrationError("This waitlist offer is no longer valid.")

    ticket_counts: dict[int, int] = {}
    session_counts: dict[int, int] = {}
    for spec in attendees:
        ticket_counts[spec.ticket_type_id] = ticket_counts.get(spec.ticket_type_id, 0) + 1
        for session_id in spec.session_ids:
            session_counts[session_id] = session_counts.get(session_id, 0) + 1
    limited_types = [pk for pk in ticket_counts if ticket_types[pk].capacity is not None]

    def check(use: capacity.SeatUse) -> None:
        for pk in limited_types:
            ticket_type = ticket_types[pk]
            if use.by_ticket_type.get(pk, 0) + ticket_counts[pk] > ticket_type.capacity:
                left = max(0, ticket_type.capacity - use.by_ticket_type.get(pk, 0))
                raise SoldOut(
                    _sold_out_message(ticket_type.name, left),
                    ticket_type=ticket_type,
                    what="" if left else f"type:{pk}",
                )
        for pk, wanted in session_counts.items():
            session = sessions[pk]
            if use.by_session.get(pk, 0) + wanted > session.capacity:
                left = max(0, session.capacity - use.by_session.get(pk, 0))
                raise SoldOut(
                    _sold_out_message(f"The break-out “{session.title}”", left),
                    what="" if left else f"session:{pk}",
                )
        if use.conference + len(attendees) > conference_capacity:
            left = max(0, conference_capacity - use.conference)
            raise SoldOut(
                _sold_out_message("The conference", left), what="" if left else "conference"
            )

    def check_and_note(use: capacity.SeatUse) -> None:
        # A committed count that shows something full is a fact worth sharing for a moment,
        # whether it was read before or under the locks (capacity.remember_sold_out).
        try:
            check(use)
        except SoldOut as error:
            if error.what:
                capacity.remember_sold_out(
                    conference_id=conference_id,
                    what=error.what,
                    message=str(error),
                    ticket_type_id=error.ticket_type.pk if error.ticket_type else None,
                )
            raise

    def count() -> capacity.SeatUse:
        return capacity.seat_use(
            conference_id=conference_id,
            ticket_type_ids=limited_types,
            session_ids=session_counts,
            exclude_offer_id=offer.pk if offer else None,
        )

    # Prices depend on membership, not on seats, so they are worked out before any lock.
    tier = access.price_tier(owner)
    priced = []
    discounted_tickets = 0
    for spec in attendees:
        ticket_type = ticket_types[spec.ticket_type_id]
        price = ticket_type.price_cents(tier, now)
        discount = 0
        if code and _code_applies(code, ticket_type):
            discount = code.discount_for(price)
            discounted_tickets += 1
        priced.append((spec, ticket_type, price, discount))
    if code and not discounted_tickets:
        raise RegistrationError(f"The code {code.code} does not apply to these tickets.")

    # The order is written before the lock is taken, so that the lock is held only to count
    # and commit; if the count then shows too many seats taken, raising rolls all of it back.
    subtotal = sum(price for _, _, price, _ in priced)
    discount_total = sum(discount for _, _, _, discount in priced)
    order = Order.objects.create(
        conference_id=conference_id,
        owner=owner,
        email=owner.email,
        price_tier=tier,
        discount_code=code,
        access_code=access_pass,
        subtotal_cents=subtotal,
        discount_cents=discount_total,
        total_cents=subtotal - discount_total,
        hold_expires_at=now + timedelta(minutes=settings.CONFERENCE_HOLD_MINUTES),
    )
    created = Attendee.objects.bulk_create(
        Attendee(
            order=order,
            ticket_type=ticket_type,
            first_name=spec.first_name.strip(),
            last_name=spec.last_name.strip(),
            email=spec.email.strip(),
            practice=spec.practice.strip(),
            dietary_needs=spec.dietary_needs.strip(),
            accessibility_needs=spec.accessibility_needs.strip(),
            price_cents=price,
            discount_cents=discount,
        )
        for spec, ticket_type, price, discount in priced
    )
    BreakoutChoice.objects.bulk_create(
        BreakoutChoice(attendee=attendee, session=s, slot_starts_at=s.starts_at)
        for attendee, (spec, *_) in zip(created, priced, strict=True)
        for s in (sessions[pk] for pk in spec.session_ids)
    )
    if order.total_cents == 0:
        _confirm(order, now=now)

    # From here to the commit others wait on the lock: one statement to count, then commit.
    conference_capacity = capacity.lock_capacity(conference_id=conference_id)
    use = count()
    # The count includes this order's own seats; check as if they were not there yet.
    use.conference -= len(attendees)
    for pk in use.by_ticket_type:
        use.by_ticket_type[pk] -= ticket_counts[pk]
    for pk in use.by_session:
        use.by_session[pk] -= session_counts[pk]
    check_and_note(use)
    _check_code_uses(
        order=order,
        discount=code,
        discounted=discounted_tickets,
        access_pass=access_pass,
        unlocked=unlocked,
        hidden=hidden_tickets,
    )
    if offer:
        offer.status = WaitlistEntry.ACCEPTED
        offer.save(update_fields=["status"])
    return order


def _refuse_second_unpaid_order(*, conference_id: int, owner, now) -> None:
    """One unpaid order per account and conference. One whose hold has lapsed is released
    here (the hold job would do it within a minute), so its owner may register again."""
    existing = Order.objects.filter(conference_id=conference_id, owner=owner, status=HELD).first()
    if existing is None:
        return
    if not existing.hold_lapsed(now):
        raise UnpaidOrderExists(existing)
    if Order.objects.filter(pk=existing.pk, status=HELD).update(status=EXPIRED):
        _seats_freed(conference_id)


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


def _sold_out_message(what: str, left: int) -> str:
    if left == 0:
        return f"{what} is sold out."
    return f"{what} has only {left} seat{'s' if left != 1 else ''} left."


def _code_applies(code: DiscountCode, ticket_type: TicketType) -> bool:
    allowed = {t.pk for t in code.ticket_types.all()}
    return not allowed or ticket_type.pk in allowed


def _confirm(order: Order, *, now) -> None:
    from . import tasks

    order.status = PAID
    order.paid_at = now
    order.hold_expires_at = None
    order.save(update_fields=["status", "paid_at", "hold_expires_at"])
    transaction.on_commit(lambda: tasks.send_order_confirmation.delay(order.pk))


# --- Paying -------------------------------------------------------------------------------------


def order_checkout_start(*, order: Order, success_url: str, cancel_url: str) -> str:
    """Open (or reopen) a Stripe Checkout Session for a held order; returns its URL.

    The idempotency key is made from the order code, so a double click opens one session.
    Raises RegistrationError when the order no longer waits for payment, HoldLapsed (and
    releases the seats) when its hold has run out: a lapsed hold is never paid for again,
    the owner registers afresh and the seats are counted again under the lock.
    """
    if order.status != HELD:
        raise RegistrationError("This order is not waiting for payment.")
    if order.hold_lapsed():
        with transaction.atomic():
            if Order.objects.filter(pk=order.pk, status=HELD).update(status=EXPIRED):
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
    when they are gone, the order is cancelled and the whole payment refunded. A payment for an
    order cancelled before it was paid is refunded in full.
    """
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if payment_intent_id and not order.stripe_payment_intent_id:
            order.stripe_payment_intent_id = payment_intent_id
            order.save(update_fields=["stripe_payment_intent_id"])
        if order.status == PAID:
            return order
        if order.status == HELD:
            _confirm(order, now=now)
            return order
        if order.status == CANCELLED:
            if not order.paid_at:
                # Cancelled while the Checkout page was still open: give the money back.
                order.paid_at = now
                order.save(update_fields=["paid_at"])
                _queue_refund(order, amount_cents=order.total_cents, reason="Paid after cancelling")
            return order
    # The hold lapsed before the money came: take the seats again under the locks.
    try:
        with transaction.atomic():
            _retake_seats(order_id=order_id, now=now)
    except RegistrationError:  # sold out, or a code's uses went to others meanwhile
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            order.status = CANCELLED
            order.paid_at = order.cancelled_at = now
            order.save(update_fields=["status", "paid_at", "cancelled_at"])
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


# --- Holds that lapse ---------------------------------------------------------------------------


def order_expire_holds(*, now=None) -> int:
    """Release every unpaid hold older than its deadline; offer the seats to the waitlist."""

    now = now or timezone.now()
    expired = 0
    conference_ids = set()
    for order_id in Order.objects.filter(status=HELD, hold_expires_at__lt=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            # A webhook may have confirmed it while we looked.
            if order.status != HELD:
                continue
            order.status = EXPIRED
            order.save(update_fields=["status"])
            expired += 1
            conference_ids.add(order.conference_id)
    for conference_id in conference_ids:
        _seats_freed(conference_id)
    return expired


# --- Cancelling and refunds ---------------------------------------------------------------------


def order_refund_amount(*, order: Order, on=None) -> int:
    """What the cancellation policy gives back if the order is cancelled on `on`."""
    on = on or timezone.localdate()
    paid = order.total_cents - order.refunded_cents
    return paid * order.conference.refund_percent(on) // 100


def order_cancel(*, order_id: int, by_user) -> Order:
    """Cancel an order, refund what the policy allows and offer its seats to the waitlist.

    The owner may cancel their own order; staff any order (and staff always refund in full).
    Raises PermissionError for anyone else, RegistrationError when there is nothing to cancel.
    """

    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("conference").get(pk=order_id)
        if order.owner_id != by_user.pk and not by_user.is_staff:
            raise PermissionError("Only the person who placed the order can cancel it.")
        if order.status not in (HELD, PAID):
            raise RegistrationError("This order is already closed.")
        was_paid = order.status == PAID
        now = timezone.now()
        order.status = CANCELLED
        order.cancelled_at = now
        order.save(update_fields=["status", "cancelled_at"])
        if was_paid:
            amount = (
                order.total_cents - order.refunded_cents
                if by_user.is_staff and order.owner_id != by_user.pk
                else order_refund_amount(order=order)
            )
            if amount:
                _queue_refund(order, amount_cents=amount, reason="Cancelled")
        conference_id = order.conference_id
        _seats_freed(conference_id)
    return order


def _seats_freed(conference_id: int) -> None:
    """After the commit: forget "sold out" notes and offer the seats to the waitlist."""
    from . import tasks

    def after() -> None:
        capacity.forget_sold_out(conference_id=conference_id)
        tasks.waitlist_offer_seats.delay(conference_id)

    transaction.on_commit(after)


def _queue_refund(order: Order, *, amount_cents: int, reason: str) -> Refund:
    from . import tasks

    refund = Refund.objects.create(order=order, amount_cents=amount_cents, reason=reason)
    order.refunded_cents += amount_cents
    order.save(update_fields=["refunded_cents"])
    transaction.on_commit(lambda: tasks.refund_send.delay(refund.pk))
    return refund


def refund_send(*, refund_id: int) -> Refund:
    """Ask Stripe for a queued refund. The idempotency key is the refund's id, so a retried
    task never refunds twice."""
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    if refund.status != "pending":
        return refund
    if not refund.order.stripe_payment_intent_id:
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk).update(status="nothing-to-refund")
        return refund
    ref = gateway.refund_payment(
        payment_intent_id=refund.order.stripe_payment_intent_id,
        amount_cents=refund.amount_cents,
        idempotency_key=f"conference-refund-{refund.pk}",
        metadata={"kind": "conference_order", "order_id": str(refund.order_id)},
    )
    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(
            stripe_refund_id=ref.id, status=getattr(ref, "status", "succeeded") or "succeeded"
        )
    refund.refresh_from_db()
    return refund


# --- Attendees ----------------------------------------------------------------------------------


def attendee_substitute(
    *,
    attendee_id: int,
    by_user,
    first_name: str,
    last_name: str,
    email: str,
    practice: str = "",
    dietary_needs: str = "",
    accessibility_needs: str = "",
) -> Attendee:
    """Put another person in an attendee's seat, before the conference's cut-off.

    The seat, ticket type and break-outs stay; the ticket code changes so the old QR code no
    longer admits anyone, and the new attendee gets their own confirmation.
    """
    from . import tasks
    from .models import random_code

    with transaction.atomic():
        attendee = (
            Attendee.objects.select_for_update()
            .select_related("order__conference")
            .get(pk=attendee_id)
        )
        order = attendee.order
        if order.owner_id != by_user.pk and not by_user.is_staff:
            raise PermissionError("Only the person who placed the order can change attendees.")
        if order.status != PAID:
            raise RegistrationError("Only confirmed orders can change attendees.")
        if not order.conference.substitution_allowed(timezone.localdate()):
            raise RegistrationError("The deadline for substitutions has passed.")
        attendee.first_name = first_name.strip()
        attendee.last_name = last_name.strip()
        attendee.email = email.strip()
        attendee.practice = practice.strip()
        attendee.dietary_needs = dietary_needs.strip()
        attendee.accessibility_needs = accessibility_needs.strip()
        attendee.ticket_code = random_code()
        attendee.checked_in_at = None
        attendee.save()
        transaction.on_commit(lambda: tasks.send_attendee_ticket.delay(attendee.pk))
    return attendee


@dataclass
class CheckIn:
    attendee: Attendee
    already: bool


def attendee_check_in(*, conference_id: int, ticket_code: str, by_user) -> CheckIn:
    """Mark a confirmed attendee as arrived; reports when they were already checked in.

    Raises RegistrationError for an unknown code or an order that is not confirmed.
    """
    code = ticket_code.strip().upper()
    with transaction.atomic():
        attendee = (
            Attendee.objects.select_for_update(of=("self",))
            .select_related("order", "ticket_type")
            .filter(ticket_code=code, order__conference_id=conference_id)
            .first()
        )
        if attendee is None:
            raise RegistrationError(f"No ticket {code} for this conference.")
        if attendee.order.status != PAID:
            raise RegistrationError(
                f"{attendee.full_name}'s order is {attendee.order.get_status_display().lower()}."
            )
        if attendee.checked_in_at:
            return CheckIn(attendee=attendee, already=True)
        attendee.checked_in_at = timezone.now()
        attendee.checked_in_by = by_user
        attendee.save(update_fields=["checked_in_at", "checked_in_by"])
    return CheckIn(attendee=attendee, already=False)


# --- Waitlist -----------------------------------------------------------------------------------


def waitlist_join(*, ticket_type_id: int, user) -> WaitlistEntry:
    """Put a user on the waitlist of a sold-out ticket type (once; joining again returns the
    entry).

    Sold out is counted as a checkout counts, under the seat lock, so an offer only ever
    goes out for a seat that came free. Raises SeatsAvailable when a ticket can be bought
    now, RegistrationError for a hidden ticket type (its codes are the way in),
    RegistrationBusy when the lock stays taken.
    """
    with _busy_as_registration_error(), transaction.atomic():
        ticket_type = TicketType.objects.get(pk=ticket_type_id)
        if ticket_type.requires_code:
            raise RegistrationError(f"There is no waitlist for {ticket_type.name} tickets.")
        entry = WaitlistEntry.objects.filter(
            ticket_type=ticket_type,
            user=user,
            status__in=[WaitlistEntry.WAITING, WaitlistEntry.OFFERED],
        ).first()
        if entry:
            return entry
        seats = capacity.lock_capacity(conference_id=ticket_type.conference_id)
        limited = ticket_type.capacity is not None
        use = capacity.seat_use(
            conference_id=ticket_type.conference_id,
            ticket_type_ids=[ticket_type.pk] if limited else [],
        )
        type_full = limited and use.by_ticket_type[ticket_type.pk] >= ticket_type.capacity
        if use.conference < seats and not type_full:
            raise SeatsAvailable(
                f"{ticket_type.name} tickets are still available: register to take one."
            )
        try:
            with transaction.atomic():
                return WaitlistEntry.objects.create(
                    conference_id=ticket_type.conference_id,
                    ticket_type=ticket_type,
                    user=user,
                    email=user.email,
                )
        except IntegrityError:
            return WaitlistEntry.objects.get(
                ticket_type=ticket_type,
                user=user,
                status__in=[WaitlistEntry.WAITING, WaitlistEntry.OFFERED],
            )


def waitlist_offer_seats(*, conference_id: int) -> list[WaitlistEntry]:
    """Offer free seats to the people waiting longest, one seat each, for 48 hours.

    Ticket entries wait for a seat at the conference (and of their ticket type); break-out
    entries wait for a seat in one break-out. Runs under the capacity locks so an offer never
    promises a seat a buyer is taking at the same moment. Returns the entries offered now.
    """
    from . import tasks

    now = timezone.now()
    offered: list[WaitlistEntry] = []
    with transaction.atomic():
        waiting = list(
            WaitlistEntry.objects.filter(
                conference_id=conference_id, status=WaitlistEntry.WAITING
            ).select_related("ticket_type", "session")
        )
        if not waiting:
            return offered
        type_ids = {
            e.ticket_type_id
            for e in waiting
            if e.session_id is None and e.ticket_type.capacity is not None
        }
        session_ids = {e.session_id for e in waiting if e.session_id}
        seats = capacity.lock_capacity(conference_id=conference_id)
        use = capacity.seat_use(
            conference_id=conference_id, ticket_type_ids=type_ids, session_ids=session_ids
        )
        for entry in waiting:
            if entry.session_id:
                taken = use.by_session.get(entry.session_id, 0)
                if taken >= entry.session.capacity:
                    continue
                use.by_session[entry.session_id] = taken + 1
            else:
                limit = entry.ticket_type.capacity
                taken = use.by_ticket_type.get(entry.ticket_type_id, 0)
                if use.conference >= seats or (limit is not None and taken >= limit):
                    continue
                use.conference += 1
                use.by_ticket_type[entry.ticket_type_id] = taken + 1
            entry.status = WaitlistEntry.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = now + timedelta(hours=settings.CONFERENCE_OFFER_HOURS)
            entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
            offered.append(entry)
            transaction.on_commit(lambda pk=entry.pk: tasks.send_waitlist_offer.delay(pk))
    return offered


def waitlist_join_breakout(*, attendee_id: int, session_id: int, by_user) -> WaitlistEntry:
    """Wait for a seat in a full break-out for an attendee of a confirmed order.

    Only the order's owner (or staff) may ask, and only while the break-out is full (counted
    under the seat lock, as a checkout counts). Raises SeatsAvailable when it has a seat,
    RegistrationError when the ticket does not include the break-out or the attendee already
    has it; PermissionError for others.
    """
    with _busy_as_registration_error(), transaction.atomic():
        attendee = Attendee.objects.select_related("order", "ticket_type").get(pk=attendee_id)
        if attendee.order.owner_id != by_user.pk and not by_user.is_staff:
            raise PermissionError("Only the person who placed the order can do that.")
        if attendee.order.status != PAID:
            raise RegistrationError("Only confirmed attendees can wait for a break-out.")
        session = Session.objects.get(
            pk=session_id, conference_id=attendee.order.conference_id, kind=Session.BREAKOUT
        )
        if not attendee.ticket_type.allows_session(session):
            raise RegistrationError(f"{attendee.first_name}'s ticket does not include it.")
        if attendee.choices.filter(session=session).exists():
            raise RegistrationError(f"{attendee.first_name} already has a seat there.")
        capacity.lock_capacity(conference_id=session.conference_id)
        use = capacity.seat_use(conference_id=session.conference_id, session_ids=[session.pk])
        if use.by_session[session.pk] < session.capacity:
            raise SeatsAvailable(
                f"The break-out “{session.title}” still has seats; its waitlist is only for "
                "when it is full."
            )
        entry, _ = WaitlistEntry.objects.get_or_create(
            session=session,
            attendee=attendee,
            status__in=[WaitlistEntry.WAITING, WaitlistEntry.OFFERED],
            defaults={
                "conference_id": session.conference_id,
                "ticket_type": attendee.ticket_type,
                "user": attendee.order.owner,
                "email": attendee.order.email,
                "status": WaitlistEntry.WAITING,
            },
        )
    return entry


def attendee_take_breakout_offer(*, token: str, by_user) -> Attendee:
    """Move an attendee into the break-out a waitlist offer holds for them.

    Their previous break-out in that time slot, if any, is given up (and offered on in turn).
    Raises RegistrationError when the offer has lapsed. The attendee gets an updated ticket
    mail with the new calendar.
    """
    from . import tasks

    now = timezone.now()
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_related("session", "attendee")
            .filter(token=token, user=by_user, session__isnull=False)
            .first()
        )
        if entry is None or entry.status != WaitlistEntry.OFFERED or entry.offer_expires_at <= now:
            raise RegistrationError("This offer is no longer valid.")
        session, attendee = entry.session, entry.attendee
        capacity.lock_capacity(conference_id=entry.conference_id)
        use = capacity.seat_use(
            conference_id=entry.conference_id, session_ids=[session.pk], exclude_offer_id=entry.pk
        )
        if use.by_session.get(session.pk, 0) >= session.capacity:
            raise SoldOut(_sold_out_message(f"The break-out “{session.title}”", 0))
        gave_up = attendee.choices.filter(slot_starts_at=session.starts_at)
        freed = gave_up.exists()
        gave_up.delete()
        BreakoutChoice.objects.create(
            attendee=attendee, session=session, slot_starts_at=session.starts_at
        )
        entry.status = WaitlistEntry.ACCEPTED
        entry.save(update_fields=["status"])
        transaction.on_commit(lambda: tasks.send_attendee_ticket.delay(attendee.pk))
        if freed:
            _seats_freed(entry.conference_id)
    return attendee


def waitlist_lapse_offers(*, now=None) -> int:
    """Close offers nobody took within 48 hours; their seats go to the next in line."""

    now = now or timezone.now()
    with transaction.atomic():
        lapsed = WaitlistEntry.objects.filter(
            status=WaitlistEntry.OFFERED, offer_expires_at__lte=now
        )
        conference_ids = set(lapsed.values_list("conference_id", flat=True))
        count = lapsed.update(status=WaitlistEntry.LAPSED)
        for conference_id in conference_ids:
            _seats_freed(conference_id)
    return count


def describe_refund_policy(conference: ConferencePage) -> list[str]:
    """The policy in plain words, for the order page and the receipt."""
    lines = []
    if conference.full_refund_until:
        lines.append(f"Full refund until {conference.full_refund_until:%B %-d, %Y}.")
    if conference.partial_refund_until:
        lines.append(
            f"{conference.partial_refund_percent}% refund until "
            f"{conference.partial_refund_until:%B %-d, %Y}."
        )
    if lines:
        lines.append("No refund after that; you can still send a colleague in your place.")
    else:
        lines.append("Cancellations are not refunded; you can send a colleague in your place.")
    return lines
