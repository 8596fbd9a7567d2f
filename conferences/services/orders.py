"""Creating an order: check and price it, write it, then take its seats under the seat lock.

`order_create` runs three steps in one transaction, in this order, so that the conference's
one seat lock (capacity.lock_capacity) is held only to count and commit:

1. `_plan_order` reads and checks everything the order needs (the conference, each attendee's
   ticket and break-outs, the codes, a waitlist offer) and prices every ticket. It takes no
   lock and writes nothing, except to release the owner's own lapsed hold.
2. `_write_order` writes the order, its attendees and their break-out choices, still without
   the seat lock: inserting rows that point at the conference takes FOR KEY SHARE, which does
   not conflict with the lock's FOR NO KEY UPDATE.
3. `_take_seats_locked` takes the seat lock, counts once and raises when the seats do not fit
   or a code would be used past its limit; raising rolls back all three steps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from membership import access

from .. import capacity, selectors
from ..models import (
    AccessCode,
    Attendee,
    BreakoutChoice,
    DiscountCode,
    Order,
    Session,
    TicketType,
    WaitlistEntry,
)
from .common import (
    BUSY_MESSAGE,
    AttendeeSpec,
    RegistrationBusy,
    RegistrationError,
    SoldOut,
    UnpaidOrderExists,
    _check_code_uses,
    _confirm,
    _is_lock_timeout,
    _seats_freed,
    _sold_out,
)
from .invoicing import invoice_for_closed_hold


def order_create(
    *,
    conference_id: int,
    owner: User,
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
        _refuse_known_sold_out(conference_id=conference_id, attendees=attendees)
    try:
        with transaction.atomic():
            plan = _plan_order(
                conference_id=conference_id,
                owner=owner,
                attendees=attendees,
                discount_code=discount_code.strip().upper(),
                access_code=access_code.strip().upper(),
                waitlist_token=waitlist_token,
            )
            order = _write_order(plan)
            _take_seats_locked(plan, order)
    except IntegrityError as error:
        # Two checkouts by one account at once: the one_unpaid_order_per_owner constraint
        # let the first in and made this one wait for it, then refused it.
        existing = Order.objects.filter(
            conference_id=conference_id, owner=owner, status=Order.Status.HELD
        ).first()
        if existing is None:
            raise
        raise UnpaidOrderExists(existing) from error
    except OperationalError as error:
        if _is_lock_timeout(error):
            raise RegistrationBusy(BUSY_MESSAGE) from error
        raise
    return order


def _refuse_known_sold_out(*, conference_id: int, attendees: list[AttendeeSpec]) -> None:
    """Raise SoldOut when a checkout saw, under the lock a moment ago, that something this
    order wants has no seat left (capacity.remember_sold_out); no query when nothing is noted.
    A waitlist offer holds its own seat, so its buyer never comes here."""
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


@dataclass
class PricedTicket:
    spec: AttendeeSpec
    ticket_type: TicketType
    price_cents: int
    discount_cents: int
    discounted: bool  # the discount code applies (even when it takes nothing off)


@dataclass
class _OrderPlan:
    """An order checked and priced by `_plan_order`, not yet written."""

    conference_id: int
    owner: User
    now: datetime
    tier: str
    tickets: list[PricedTicket]
    ticket_types: dict[int, TicketType]  # the conference's active ticket types
    breakouts: dict[int, Session]  # the conference's break-outs
    discount: DiscountCode | None
    discounted: int  # tickets the discount code applies to
    access_pass: AccessCode | None  # None when it unlocks nothing this order buys
    unlocked: set[int]  # ticket types the access code unlocks
    hidden: int  # tickets of hidden ticket types
    offer: WaitlistEntry | None
    wanted: capacity.SeatUse  # the seats this order takes


def _plan_order(
    *,
    conference_id: int,
    owner: User,
    attendees: list[AttendeeSpec],
    discount_code: str,
    access_code: str,
    waitlist_token: str,
) -> _OrderPlan:
    """Check everything an order needs and price it; raise RegistrationError (or
    UnpaidOrderExists) for the first thing wrong, in the order a buyer fixes them.

    Takes no lock. Writes nothing, except that the owner's own lapsed hold is released.
    """
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
    ticket_types, breakouts = catalogue.ticket_types, catalogue.breakouts
    _check_attendee_choices(attendees, ticket_types=ticket_types, breakouts=breakouts)
    access_pass, unlocked, hidden = _access_code_for(
        conference_id=conference_id,
        code=access_code,
        tickets=[ticket_types[spec.ticket_type_id] for spec in attendees],
        now=now,
    )
    discount = discount_code_for(conference_id=conference_id, code=discount_code, now=now)
    offer = _waitlist_offer_for(token=waitlist_token, owner=owner, now=now)
    # Prices depend on membership, not on seats, so they are worked out before any lock.
    tier = access.price_tier(owner)
    tickets = price_tickets(attendees, ticket_types=ticket_types, tier=tier, code=discount, now=now)
    discounted = sum(1 for t in tickets if t.discounted)
    if discount and not discounted:
        raise RegistrationError(f"The code {discount.code} does not apply to these tickets.")
    return _OrderPlan(
        conference_id=conference_id,
        owner=owner,
        now=now,
        tier=tier,
        tickets=tickets,
        ticket_types=ticket_types,
        breakouts=breakouts,
        discount=discount,
        discounted=discounted,
        access_pass=access_pass,
        unlocked=unlocked,
        hidden=hidden,
        offer=offer,
        wanted=capacity.SeatUse(
            conference=len(attendees),
            by_ticket_type=dict(Counter(spec.ticket_type_id for spec in attendees)),
            by_session=dict(Counter(pk for spec in attendees for pk in spec.session_ids)),
        ),
    )


def _refuse_second_unpaid_order(*, conference_id: int, owner: User, now: datetime) -> None:
    """One unpaid order per account and conference. One whose hold has lapsed is released
    here (the hold job would do it within a minute), so its owner may register again."""
    existing = Order.objects.filter(
        conference_id=conference_id, owner=owner, status=Order.Status.HELD
    ).first()
    if existing is None:
        return
    if not existing.hold_lapsed(now):
        raise UnpaidOrderExists(existing)
    if Order.objects.filter(pk=existing.pk, status=Order.Status.HELD).update(
        status=Order.Status.EXPIRED
    ):
        invoice_for_closed_hold(existing, note="Seats released: not paid by the due date")
        _seats_freed(conference_id)


def _check_attendee_choices(
    attendees: list[AttendeeSpec],
    *,
    ticket_types: dict[int, TicketType],
    breakouts: dict[int, Session],
) -> None:
    """Every attendee has an active ticket type of this conference, and break-outs that the
    ticket includes, at most one per time slot."""
    for spec in attendees:
        ticket_type = ticket_types.get(spec.ticket_type_id)
        if ticket_type is None:
            raise RegistrationError("Choose a ticket type for every attendee.")
        slots = set()
        for session_id in spec.session_ids:
            session = breakouts.get(session_id)
            if session is None or not ticket_type.allows_session(session):
                raise RegistrationError(
                    f"{spec.first_name}'s ticket does not include that break-out."
                )
            if session.starts_at in slots:
                raise RegistrationError(
                    f"{spec.first_name} can attend only one break-out per time slot."
                )
            slots.add(session.starts_at)


def _access_code_for(
    *, conference_id: int, code: str, tickets: list[TicketType], now: datetime
) -> tuple[AccessCode | None, set[int], int]:
    """The access code, the ticket types it unlocks and how many hidden tickets it covers.

    Every hidden ticket needs a valid code that unlocks its type. Its uses are counted later,
    under the seat lock; a code that unlocks nothing this order buys comes back as None, so
    it uses nothing up.
    """
    access_pass, unlocked = None, set()
    if code:
        access_pass = (
            AccessCode.objects.filter(conference_id=conference_id, code=code)
            .prefetch_related("ticket_types")
            .first()
        )
        if access_pass is None or not access_pass.is_valid(now):
            raise RegistrationError(f"The access code {code} is not valid.")
        unlocked = {t.pk for t in access_pass.ticket_types.all()}
    hidden = 0
    for ticket_type in tickets:
        if ticket_type.requires_code:
            if ticket_type.pk not in unlocked:
                raise RegistrationError(f"The {ticket_type.name} ticket needs an access code.")
            hidden += 1
    return (access_pass if hidden else None), unlocked, hidden


def discount_code_for(*, conference_id: int, code: str, now: datetime) -> DiscountCode | None:
    """The discount code when one is given and valid now; its uses are counted under the lock.
    (Also what the review step's quote uses, so both say the same about a code.)"""
    if not code:
        return None
    discount = (
        DiscountCode.objects.filter(conference_id=conference_id, code=code)
        .prefetch_related("ticket_types")  # read once per ticket by _code_applies
        .first()
    )
    if discount is None or (discount.valid_from and now < discount.valid_from):
        raise RegistrationError(f"The discount code {code} is not valid.")
    if discount.valid_until and now > discount.valid_until:
        raise RegistrationError(f"The discount code {code} has expired.")
    return discount


def _waitlist_offer_for(*, token: str, owner: User, now: datetime) -> WaitlistEntry | None:
    """The owner's open waitlist offer for this token, whose held seat this order takes."""
    if not token:
        return None
    offer = WaitlistEntry.objects.filter(
        token=token, user=owner, status=WaitlistEntry.Status.OFFERED
    ).first()
    if offer is None or offer.offer_expires_at is None or offer.offer_expires_at <= now:
        raise RegistrationError("This waitlist offer is no longer valid.")
    return offer


def price_tickets(
    attendees: list[AttendeeSpec],
    *,
    ticket_types: dict[int, TicketType],
    tier: str,
    code: DiscountCode | None,
    now: datetime,
) -> list[PricedTicket]:
    """Each attendee's ticket at the tier's price now, less the discount where it applies.
    (The review step's quote prices with this too, so it shows what the order will charge.)"""
    tickets = []
    for spec in attendees:
        ticket_type = ticket_types[spec.ticket_type_id]
        price = ticket_type.price_cents(tier, now)
        applies = bool(code and _code_applies(code, ticket_type))
        discount = code.discount_for(price) if code and applies else 0
        tickets.append(PricedTicket(spec, ticket_type, price, discount, applies))
    return tickets


def _code_applies(code: DiscountCode, ticket_type: TicketType) -> bool:
    allowed = {t.pk for t in code.ticket_types.all()}
    return not allowed or ticket_type.pk in allowed


def _write_order(plan: _OrderPlan) -> Order:
    """Write the order, its attendees and their break-out choices, holding seats for
    CONFERENCE_HOLD_MINUTES; an order that costs nothing is confirmed (its mail waits for the
    commit).

    Runs before the seat lock is taken, so that the lock is held only to count and commit;
    if the count then shows too many seats taken, raising rolls all of this back.
    """
    subtotal = sum(t.price_cents for t in plan.tickets)
    discount_total = sum(t.discount_cents for t in plan.tickets)
    order = Order.objects.create(
        conference_id=plan.conference_id,
        owner=plan.owner,
        email=plan.owner.email,
        price_tier=plan.tier,
        discount_code=plan.discount,
        access_code=plan.access_pass,
        subtotal_cents=subtotal,
        discount_cents=discount_total,
        total_cents=subtotal - discount_total,
        hold_expires_at=plan.now + timedelta(minutes=settings.CONFERENCE_HOLD_MINUTES),
    )
    created = Attendee.objects.bulk_create(
        Attendee(
            order=order,
            ticket_type=t.ticket_type,
            first_name=t.spec.first_name.strip(),
            last_name=t.spec.last_name.strip(),
            email=t.spec.email.strip(),
            practice=t.spec.practice.strip(),
            dietary_needs=t.spec.dietary_needs.strip(),
            accessibility_needs=t.spec.accessibility_needs.strip(),
            price_cents=t.price_cents,
            discount_cents=t.discount_cents,
        )
        for t in plan.tickets
    )
    BreakoutChoice.objects.bulk_create(
        BreakoutChoice(attendee=attendee, session=session, slot_starts_at=session.starts_at)
        for attendee, ticket in zip(created, plan.tickets, strict=True)
        for session in (plan.breakouts[pk] for pk in ticket.spec.session_ids)
    )
    if order.total_cents == 0:
        _confirm(order, now=plan.now)
    return order


def _take_seats_locked(plan: _OrderPlan, order: Order) -> None:
    """Take the conference's seat lock, then count once and raise SoldOut when the order's
    seats do not fit (noting what has no seat left at all, for the buyers behind), or
    RegistrationError when a code would pass its uses. The waitlist offer it used is accepted.

    From the lock to the commit the other buyers wait, so this does one count and little else.
    """
    wanted = plan.wanted
    conference_capacity, taken = capacity.lock_and_count(
        conference_id=plan.conference_id,
        ticket_type_ids=[
            pk for pk in wanted.by_ticket_type if plan.ticket_types[pk].capacity is not None
        ],
        session_ids=wanted.by_session,
        exclude_offer_id=plan.offer.pk if plan.offer else None,
    )
    # The count includes this order's own seats; check as if they were not there yet.
    short = capacity.shortage(
        taken=taken.without(wanted),
        wanted=wanted,
        conference_capacity=conference_capacity,
        ticket_types=plan.ticket_types,
        sessions=plan.breakouts,
    )
    if short:
        raise _sold_out(short, conference_id=plan.conference_id)
    _check_code_uses(
        order=order,
        discount=plan.discount,
        discounted=plan.discounted,
        access_pass=plan.access_pass,
        unlocked=plan.unlocked,
        hidden=plan.hidden,
    )
    if plan.offer:
        plan.offer.status = WaitlistEntry.Status.ACCEPTED
        plan.offer.save(update_fields=["status"])
