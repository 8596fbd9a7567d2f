"""Waitlists: join, offer freed seats in order, take a break-out offer, lapse offers."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import capacity
from ..models import Attendee, BreakoutChoice, Order, Session, TicketType, WaitlistEntry
from .common import (
    RegistrationError,
    SeatsAvailable,
    SoldOut,
    _busy_as_registration_error,
    _seats_freed,
)


def waitlist_join(*, ticket_type_id: int, user: User) -> WaitlistEntry:
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
            status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
        ).first()
        if entry:
            return entry
        seats = capacity.lock_capacity(conference_id=ticket_type.conference_id)
        use = capacity.seat_use(
            conference_id=ticket_type.conference_id,
            ticket_type_ids=[ticket_type.pk] if ticket_type.capacity is not None else [],
        )
        one_seat = capacity.SeatUse(conference=1, by_ticket_type={ticket_type.pk: 1})
        if not capacity.shortage(
            taken=use,
            wanted=one_seat,
            conference_capacity=seats,
            ticket_types={ticket_type.pk: ticket_type},
            sessions={},
        ):
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
                status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
            )


def waitlist_offer_seats(*, conference_id: int) -> list[WaitlistEntry]:
    """Offer free seats to the people waiting longest, one seat each, for 48 hours.

    Ticket entries wait for a seat at the conference (and of their ticket type); break-out
    entries wait for a seat in one break-out. Runs under the capacity locks so an offer never
    promises a seat a buyer is taking at the same moment. Returns the entries offered now.
    """
    # local: conferences.tasks imports the services at module level
    from .. import tasks

    now = timezone.now()
    offered: list[WaitlistEntry] = []
    with transaction.atomic():
        waiting = list(
            WaitlistEntry.objects.filter(
                conference_id=conference_id, status=WaitlistEntry.Status.WAITING
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
            wanted = _seat_an_offer_holds(entry)
            if capacity.shortage(
                taken=use,
                wanted=wanted,
                conference_capacity=seats,
                ticket_types={entry.ticket_type_id: entry.ticket_type},
                sessions={entry.session.pk: entry.session} if entry.session else {},
            ):
                continue
            use.add(wanted)
            entry.status = WaitlistEntry.Status.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = now + timedelta(hours=settings.CONFERENCE_OFFER_HOURS)
            entry.save(update_fields=["status", "offered_at", "offer_expires_at"])
            offered.append(entry)
            transaction.on_commit(partial(tasks.send_waitlist_offer.delay, entry.pk))
    return offered


def _seat_an_offer_holds(entry: WaitlistEntry) -> capacity.SeatUse:
    """A break-out entry's offer holds one seat in that break-out (its attendee already has
    a seat at the conference); a ticket entry's, one at the conference and of its type."""
    if entry.session_id:
        return capacity.SeatUse(by_session={entry.session_id: 1})
    return capacity.SeatUse(conference=1, by_ticket_type={entry.ticket_type_id: 1})


def waitlist_join_breakout(*, attendee_id: int, session_id: int, by_user: User) -> WaitlistEntry:
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
        if attendee.order.status != Order.Status.PAID:
            raise RegistrationError("Only confirmed attendees can wait for a break-out.")
        session = Session.objects.get(
            pk=session_id, conference_id=attendee.order.conference_id, kind=Session.Kind.BREAKOUT
        )
        if not attendee.ticket_type.allows_session(session):
            raise RegistrationError(f"{attendee.first_name}'s ticket does not include it.")
        if attendee.choices.filter(session=session).exists():
            raise RegistrationError(f"{attendee.first_name} already has a seat there.")
        seats = capacity.lock_capacity(conference_id=session.conference_id)
        use = capacity.seat_use(conference_id=session.conference_id, session_ids=[session.pk])
        if not capacity.shortage(
            taken=use,
            wanted=capacity.SeatUse(by_session={session.pk: 1}),
            conference_capacity=seats,
            ticket_types={},
            sessions={session.pk: session},
        ):
            raise SeatsAvailable(
                f"The break-out “{session.title}” still has seats; its waitlist is only for "
                "when it is full."
            )
        entry, _ = WaitlistEntry.objects.get_or_create(
            session=session,
            attendee=attendee,
            status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
            defaults={
                "conference_id": session.conference_id,
                "ticket_type": attendee.ticket_type,
                "user": attendee.order.owner,
                "email": attendee.order.email,
                "status": WaitlistEntry.Status.WAITING,
            },
        )
    return entry


def attendee_take_breakout_offer(*, token: str, by_user: User) -> Attendee:
    """Move an attendee into the break-out a waitlist offer holds for them.

    Their previous break-out in that time slot, if any, is given up (and offered on in turn).
    Raises RegistrationError when the offer has lapsed. The attendee gets an updated ticket
    mail with the new calendar.
    """
    # local: conferences.tasks imports the services at module level
    from .. import tasks

    now = timezone.now()
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_related("session", "attendee")
            .filter(token=token, user=by_user, session__isnull=False)
            .first()
        )
        if (
            entry is None
            or entry.status != WaitlistEntry.Status.OFFERED
            or entry.offer_expires_at is None
            or entry.offer_expires_at <= now
            # A break-out entry always names both; a deleted attendee takes its entry along.
            or entry.session is None
            or entry.attendee is None
        ):
            raise RegistrationError("This offer is no longer valid.")
        session, attendee = entry.session, entry.attendee
        seats = capacity.lock_capacity(conference_id=entry.conference_id)
        use = capacity.seat_use(
            conference_id=entry.conference_id, session_ids=[session.pk], exclude_offer_id=entry.pk
        )
        short = capacity.shortage(
            taken=use,
            wanted=capacity.SeatUse(by_session={session.pk: 1}),
            conference_capacity=seats,
            ticket_types={},
            sessions={session.pk: session},
        )
        if short:
            raise SoldOut(short.message)
        gave_up = attendee.choices.filter(slot_starts_at=session.starts_at)
        freed = gave_up.exists()
        gave_up.delete()
        BreakoutChoice.objects.create(
            attendee=attendee, session=session, slot_starts_at=session.starts_at
        )
        entry.status = WaitlistEntry.Status.ACCEPTED
        entry.save(update_fields=["status"])
        transaction.on_commit(lambda: tasks.send_attendee_ticket.delay(attendee.pk))
        if freed:
            _seats_freed(entry.conference_id)
    return attendee


def waitlist_lapse_offers(*, now: datetime | None = None) -> int:
    """Close offers nobody took within 48 hours; their seats go to the next in line."""

    now = now or timezone.now()
    with transaction.atomic():
        lapsed = WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.OFFERED, offer_expires_at__lte=now
        )
        conference_ids = set(lapsed.values_list("conference_id", flat=True))
        count = lapsed.update(status=WaitlistEntry.Status.LAPSED)
        for conference_id in conference_ids:
            _seats_freed(conference_id)
    return count
