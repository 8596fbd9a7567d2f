"""Creating an order: check the request, price it, write it, take the seats."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
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
    _sold_out_message,
)


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
            token=waitlist_token, user=owner, status=WaitlistEntry.Status.OFFERED
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
        offer.status = WaitlistEntry.Status.ACCEPTED
        offer.save(update_fields=["status"])
    return order


def _refuse_second_unpaid_order(*, conference_id: int, owner, now) -> None:
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
        _seats_freed(conference_id)


def _code_applies(code: DiscountCode, ticket_type: TicketType) -> bool:
    allowed = {t.pk for t in code.ticket_types.all()}
    return not allowed or ticket_type.pk in allowed
