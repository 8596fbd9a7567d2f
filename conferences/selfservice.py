"""What an attendee changes themselves, through their signed ticket link (tickets.py).

No account is involved: the link is the authority, checked again here under the attendee's row
lock, so a link revoked while the form was open (a substitute took the seat) changes nothing.
Break-out changes take seats, so they follow the same rule as a checkout: the conference's one
seat lock, then one count of held and paid seats and open offers (capacity.py).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from django.db import OperationalError, transaction
from django.utils import timezone

from . import capacity
from .models import Attendee, BreakoutChoice, Order, Session
from .services import BUSY_MESSAGE, RegistrationBusy, RegistrationError, SoldOut


@contextmanager
def _lock_timeout_is_busy():
    # 55P03 lock_not_available (lock_timeout), 40P01 deadlock_detected: "try again".
    try:
        yield
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) in {"55P03", "40P01"}:
            raise RegistrationBusy(BUSY_MESSAGE) from error
        raise


@dataclass
class Change:
    attendee: Attendee
    needs_changed: bool
    breakouts_changed: bool


def slot_is_open(starts_at, now=None) -> bool:
    """A break-out slot can be changed until it starts."""
    return starts_at > (now or timezone.now())


def attendee_update(
    *,
    attendee_id: int,
    ticket_code: str,
    dietary_needs: str,
    accessibility_needs: str,
    breakouts: dict | None = None,
) -> Change:
    """Save an attendee's dietary and accessibility needs and, optionally, their break-outs.

    `breakouts` maps a slot's start time to the break-out wanted there (a Session id, or
    None for no break-out); slots left out are not touched. Only slots that have not started
    can change. A new break-out must have a free seat, counted under the seat lock; a seat
    given up is offered to the waitlist after the commit, and a changed choice sends the
    attendee an updated ticket mail (new calendar file).

    Raises RegistrationError (SoldOut for a full break-out) and changes nothing.
    """
    from . import tasks

    now = timezone.now()
    with _lock_timeout_is_busy(), transaction.atomic():
        # FOR NO KEY UPDATE: it does not block the key-share locks that writing a break-out
        # choice takes on this row, so a waitlist move holding the seat lock cannot deadlock
        # with this change waiting for it.
        attendee = (
            Attendee.objects.select_for_update(of=("self",), no_key=True)
            .select_related("order__conference", "ticket_type")
            .filter(pk=attendee_id)
            .first()
        )
        if attendee is None or attendee.ticket_code != ticket_code:
            raise RegistrationError("This ticket link is no longer valid.")
        order, conference = attendee.order, attendee.order.conference
        if order.status != Order.Status.PAID:
            raise RegistrationError("Only a confirmed ticket can be changed.")
        if conference.end_date < timezone.localdate(now):
            raise RegistrationError("The conference is over; this ticket can no longer change.")

        dietary_needs, accessibility_needs = dietary_needs.strip(), accessibility_needs.strip()
        needs_changed = (dietary_needs, accessibility_needs) != (
            attendee.dietary_needs,
            attendee.accessibility_needs,
        )
        current = {c.slot_starts_at: c for c in attendee.choices.select_related("session")}
        wanted_new: list[Session] = []
        given_up: list[BreakoutChoice] = []
        if breakouts:
            sessions = {
                s.pk: s
                for s in Session.objects.filter(
                    conference=conference,
                    kind=Session.Kind.BREAKOUT,
                    pk__in=[pk for pk in breakouts.values() if pk],
                )
            }
            for slot, session_id in breakouts.items():
                had = current.get(slot)
                if (had.session_id if had else None) == (session_id or None):
                    continue
                if not slot_is_open(slot, now):
                    raise RegistrationError("A break-out that has started can no longer change.")
                if session_id:
                    session = sessions.get(session_id)
                    if (
                        session is None
                        or session.starts_at != slot
                        or not attendee.ticket_type.allows_session(session)
                    ):
                        raise RegistrationError("Your ticket does not include that break-out.")
                    wanted_new.append(session)
                if had:
                    given_up.append(had)

        if wanted_new:
            seats = capacity.lock_capacity(conference_id=conference.pk)
            use = capacity.seat_use(
                conference_id=conference.pk, session_ids=[s.pk for s in wanted_new]
            )
            # The one fit check; an attendee already coming takes no new conference seat.
            short = capacity.shortage(
                taken=use,
                wanted=capacity.SeatUse(by_session={s.pk: 1 for s in wanted_new}),
                conference_capacity=seats,
                ticket_types={},
                sessions={s.pk: s for s in wanted_new},
            )
            if short is not None:
                raise SoldOut(
                    f"{short.name} is full. Your choice was not changed.", what=short.what
                )
        if given_up:
            BreakoutChoice.objects.filter(pk__in=[c.pk for c in given_up]).delete()
        BreakoutChoice.objects.bulk_create(
            BreakoutChoice(attendee=attendee, session=s, slot_starts_at=s.starts_at)
            for s in wanted_new
        )
        if needs_changed:
            attendee.dietary_needs = dietary_needs
            attendee.accessibility_needs = accessibility_needs
            attendee.save(update_fields=["dietary_needs", "accessibility_needs"])
        breakouts_changed = bool(wanted_new or given_up)
        if breakouts_changed:
            attendee_pk, conference_pk = attendee.pk, conference.pk

            def after() -> None:
                tasks.send_attendee_ticket.delay(attendee_pk)
                if given_up:
                    # As after any freed seat: drop "sold out" notes, offer it to the waitlist.
                    capacity.forget_sold_out(conference_id=conference_pk)
                    tasks.waitlist_offer_seats.delay(conference_pk)

            transaction.on_commit(after)
    return Change(
        attendee=attendee, needs_changed=needs_changed, breakouts_changed=breakouts_changed
    )
