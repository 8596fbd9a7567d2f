"""Counting seats without overbooking.

Seats are never stored as counters. A writer that may take seats locks the capacity rows it
touches, then counts the rows that hold seats, and only then writes. The locks are taken in
one fixed order everywhere (the conference, then ticket types by id, then sessions by id, then
the discount code), the way pretix locks its quotas sorted by id, so two writers can never wait
on each other in a circle. A short lock timeout turns a pile-up into a polite "try again"
instead of a request that hangs.

On SQLite the settings open every transaction with BEGIN IMMEDIATE, which serialises writers
for the whole database, so the same code is safe there too; FOR UPDATE is simply dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F, Func, IntegerField, Subquery
from django.utils import timezone

from .models import (
    SEAT_HOLDING_STATUSES,
    Attendee,
    BreakoutChoice,
    ConferencePage,
    DiscountCode,
    Session,
    TicketType,
    WaitlistEntry,
)


@dataclass
class SeatUse:
    """Seats taken right now: on the conference, per ticket type, per break-out session."""

    conference: int = 0
    by_ticket_type: dict[int, int] = field(default_factory=dict)
    by_session: dict[int, int] = field(default_factory=dict)


def set_lock_timeout() -> None:
    """Give up waiting for a capacity lock after a moment (PostgreSQL only; SET LOCAL ends
    with the transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SET LOCAL lock_timeout = %s", [f"{settings.CONFERENCE_LOCK_TIMEOUT_MS}ms"]
            )


def lock_capacity_rows(
    *,
    conference_id: int,
    ticket_type_ids: Iterable[int] = (),
    session_ids: Iterable[int] = (),
    discount_code_id: int | None = None,
) -> ConferencePage:
    """Lock the rows whose capacities a change touches, in the one global order.

    Must run inside transaction.atomic. Returns the conference's capacity, read under the lock.
    """
    set_lock_timeout()
    # of=("self",) locks the conference's own row only, not Wagtail's page row, so editors
    # saving the page never queue behind buyers. Its capacity is read under the lock.
    conference_capacity = (
        ConferencePage.objects.select_for_update(of=("self",))
        .values_list("capacity", flat=True)
        .get(pk=conference_id)
    )
    # ORDER BY before FOR UPDATE: PostgreSQL locks rows in the order it returns them.
    list(
        TicketType.objects.select_for_update()
        .filter(pk__in=sorted(set(ticket_type_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        Session.objects.select_for_update()
        .filter(pk__in=sorted(set(session_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if discount_code_id:
        list(
            DiscountCode.objects.select_for_update()
            .filter(pk=discount_code_id)
            .values_list("pk", flat=True)
        )
    return conference_capacity


def seat_use(
    *,
    conference_id: int,
    ticket_type_ids: Iterable[int] = (),
    session_ids: Iterable[int] = (),
    exclude_offer_id: int | None = None,
) -> SeatUse:
    """Count seats held by paid orders, unpaid holds and open waitlist offers.

    An open waitlist offer keeps a seat of its ticket type free for 48 hours, so it counts as
    taken for everyone except the person holding the offer (`exclude_offer_id`).
    """
    holding = Attendee.objects.filter(
        order__conference_id=conference_id, order__status__in=SEAT_HOLDING_STATUSES
    )
    open_offers = WaitlistEntry.objects.filter(
        conference_id=conference_id,
        status=WaitlistEntry.OFFERED,
        offer_expires_at__gt=timezone.now(),
    )
    if exclude_offer_id:
        open_offers = open_offers.exclude(pk=exclude_offer_id)
    # A ticket offer holds a new seat at the conference; a break-out offer holds a seat in
    # that break-out for someone already coming.
    offers = open_offers.filter(session__isnull=True)

    # Every count as a scalar subquery of one statement: one round trip, which matters most
    # while the capacity locks are held and everyone else waits.
    ticket_type_ids = list(ticket_type_ids)
    session_ids = list(session_ids)
    counts = {"held": _count(holding), "offered": _count(offers)}
    for pk in ticket_type_ids:
        counts[f"held_t{pk}"] = _count(holding.filter(ticket_type_id=pk))
        counts[f"offered_t{pk}"] = _count(offers.filter(ticket_type_id=pk))
    for pk in session_ids:
        counts[f"s{pk}"] = _count(
            BreakoutChoice.objects.filter(
                session_id=pk, attendee__order__status__in=SEAT_HOLDING_STATUSES
            )
        )
        counts[f"offered_s{pk}"] = _count(open_offers.filter(session_id=pk))
    row = ConferencePage.objects.filter(pk=conference_id).annotate(**counts).values(*counts).get()
    use = SeatUse(conference=row["held"] + row["offered"])
    use.by_ticket_type = {pk: row[f"held_t{pk}"] + row[f"offered_t{pk}"] for pk in ticket_type_ids}
    use.by_session = {pk: row[f"s{pk}"] + row[f"offered_s{pk}"] for pk in session_ids}
    return use


def _count(queryset) -> Subquery:
    """SELECT COUNT(*) of a queryset, as a scalar subquery (COUNT without GROUP BY)."""
    return Subquery(
        queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"),
        output_field=IntegerField(),
    )


def seats_left_by_session(conference: ConferencePage) -> dict[int, int]:
    """Free seats of every break-out, for the agenda and the dashboard (one query)."""
    sessions = list(conference.sessions.filter(kind=Session.BREAKOUT).values_list("pk", "capacity"))
    used = seat_use(conference_id=conference.pk, session_ids=[pk for pk, _ in sessions]).by_session
    return {pk: max(0, capacity - used.get(pk, 0)) for pk, capacity in sessions}


# --- Sold-out memo ------------------------------------------------------------------------------
# When a checkout finds something sold out *under the locks*, it notes that for a moment in the
# cache, and the crowd still clicking is answered from the note instead of each running the
# count queries. The note only ever turns buyers away early; it never lets one in, so the worst
# a stale note does is say "sold out" for CONFERENCE_SOLD_OUT_MEMO_SECONDS after a seat frees.


def _memo_key(conference_id: int, what: str) -> str:
    return f"conferences:sold-out:{conference_id}:{what}"


def remember_sold_out(
    *, conference_id: int, what: str, message: str, ticket_type_id: int | None = None
) -> None:
    cache.set(
        _memo_key(conference_id, what),
        {"what": what, "message": message, "ticket_type_id": ticket_type_id},
        settings.CONFERENCE_SOLD_OUT_MEMO_SECONDS,
    )


def recall_sold_out(
    *, conference_id: int, ticket_type_ids: Iterable[int], session_ids: Iterable[int]
) -> dict | None:
    """The first noted sold-out among the conference, these ticket types and sessions."""
    whats = ["conference"]
    whats += [f"type:{pk}" for pk in sorted(ticket_type_ids)]
    whats += [f"session:{pk}" for pk in sorted(session_ids)]
    found = cache.get_many([_memo_key(conference_id, w) for w in whats])
    for what in whats:
        note = found.get(_memo_key(conference_id, what))
        if note:
            return note
    return None


def forget_sold_out(*, conference_id: int) -> None:
    """Seats came free: drop the notes at once rather than waiting for them to lapse."""
    cache.delete_many(
        [_memo_key(conference_id, "conference")]
        + [
            _memo_key(conference_id, f"type:{pk}")
            for pk in TicketType.objects.filter(conference_id=conference_id).values_list(
                "pk", flat=True
            )
        ]
        + [
            _memo_key(conference_id, f"session:{pk}")
            for pk in Session.objects.filter(conference_id=conference_id).values_list(
                "pk", flat=True
            )
        ]
    )
