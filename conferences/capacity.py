"""Counting seats without overbooking.

Seats are never stored as counters. A writer that may take seats locks the conference's row,
then counts the rows that hold seats, and only then decides. Every such writer takes that one
lock first, so they queue behind each other per conference: the conference-wide capacity is
shared by every ticket and every break-out, so any two checkouts must see each other's seats
anyway, and finer locks per ticket type or session (as pretix takes per quota) would add round
trips without letting anyone through sooner. A short lock timeout turns a pile-up into a polite
"try again" instead of a request that hangs.

The lock is FOR NO KEY UPDATE, which does not conflict with the FOR KEY SHARE locks that
inserting an order (a foreign key to the conference) takes, so a checkout can write its order
before it queues for the lock, and hold the lock only to count and commit (see
services/orders.py). Whether wanted seats fit is decided in one place, `shortage`.

On SQLite the settings open every transaction with BEGIN IMMEDIATE, which serialises writers
for the whole database, so the same code is safe there too; FOR UPDATE is simply dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .models import (
    SEAT_HOLDING_STATUSES,
    Attendee,
    BreakoutChoice,
    ConferencePage,
    Order,
    Session,
    TicketType,
    WaitlistEntry,
)

# A parameter of seat_use's statement.
Param = int | str | datetime


@dataclass
class SeatUse:
    """Seats on the conference, per ticket type and per break-out session: those taken right
    now (seat_use), or those a buyer or a waitlist offer wants."""

    conference: int = 0
    by_ticket_type: dict[int, int] = field(default_factory=dict)
    by_session: dict[int, int] = field(default_factory=dict)

    def add(self, other: SeatUse) -> None:
        """Count `other`'s seats as taken too (an offer just made, say)."""
        self.conference += other.conference
        for pk, n in other.by_ticket_type.items():
            self.by_ticket_type[pk] = self.by_ticket_type.get(pk, 0) + n
        for pk, n in other.by_session.items():
            self.by_session[pk] = self.by_session.get(pk, 0) + n

    def without(self, other: SeatUse) -> SeatUse:
        """These counts less `other`'s seats, for the ticket types and sessions counted here:
        a count made after an order was written, as if that order were not there yet."""
        return SeatUse(
            conference=self.conference - other.conference,
            by_ticket_type={
                pk: n - other.by_ticket_type.get(pk, 0) for pk, n in self.by_ticket_type.items()
            },
            by_session={pk: n - other.by_session.get(pk, 0) for pk, n in self.by_session.items()},
        )


@dataclass(frozen=True)
class Shortage:
    """Where wanted seats do not fit. `what` is "type:<pk>", "session:<pk>" or "conference"
    (the sold-out memo's key), `name` says it in words, `left` is how many seats remain."""

    what: str
    name: str
    left: int
    ticket_type: TicketType | None = None

    @property
    def message(self) -> str:
        if self.left == 0:
            return f"{self.name} is sold out."
        return f"{self.name} has only {self.left} seat{'s' if self.left != 1 else ''} left."


def shortage(
    *,
    taken: SeatUse,
    wanted: SeatUse,
    conference_capacity: int,
    ticket_types: Mapping[int, TicketType],
    sessions: Mapping[int, Session],
) -> Shortage | None:
    """The first limit that `wanted` seats on top of `taken` would pass, or None when they fit.

    The one fit check for everything that takes seats (a checkout, a late payment retaking
    its seats, a waitlist offer): each ticket type with a capacity, then each break-out, then
    the conference. `ticket_types` and `sessions` hold at least those `wanted` names; a ticket
    type without a capacity has no limit of its own. Only meaningful on counts made under
    lock_capacity.
    """
    for pk, n in wanted.by_ticket_type.items():
        ticket_type = ticket_types[pk]
        limit = ticket_type.capacity
        used = taken.by_ticket_type.get(pk, 0)
        if limit is not None and used + n > limit:
            return Shortage(f"type:{pk}", ticket_type.name, max(0, limit - used), ticket_type)
    for pk, n in wanted.by_session.items():
        session = sessions[pk]
        limit = session.capacity
        used = taken.by_session.get(pk, 0)
        # Only break-outs are chosen, and each has a capacity (a check constraint says so).
        if limit is not None and used + n > limit:
            return Shortage(
                f"session:{pk}", f"The break-out “{session.title}”", max(0, limit - used)
            )
    # Seats for people already coming (a break-out swap) need no new seat at the conference,
    # so a conference that staff made smaller than its crowd does not refuse them.
    if wanted.conference and taken.conference + wanted.conference > conference_capacity:
        left = max(0, conference_capacity - taken.conference)
        return Shortage("conference", "The conference", left)
    return None


def set_lock_timeout() -> None:
    """Give up waiting for a capacity lock after a moment (PostgreSQL only; SET LOCAL ends
    with the transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SET LOCAL lock_timeout = %s", [f"{settings.CONFERENCE_LOCK_TIMEOUT_MS}ms"]
            )


def lock_capacity(*, conference_id: int) -> int:
    """Take the conference's seat lock (see the module docstring) and return its capacity,
    read under the lock. Must run inside transaction.atomic; the lock ends with it."""
    set_lock_timeout()
    # of=("self",) locks the conference's own row only, not Wagtail's page row, so editors
    # saving the page never queue behind buyers.
    seats: int = (
        ConferencePage.objects.select_for_update(of=("self",), no_key=True)
        .values_list("capacity", flat=True)
        .get(pk=conference_id)
    )
    return seats


def seat_use(
    *,
    conference_id: int,
    ticket_type_ids: Iterable[int] = (),
    session_ids: Iterable[int] = (),
    exclude_offer_id: int | None = None,
) -> SeatUse:
    """Count seats held by paid orders, unpaid holds and open waitlist offers.

    An open waitlist offer keeps a seat of its ticket type free for 48 hours, so it counts as
    taken for everyone except the person holding the offer (`exclude_offer_id`). A ticket offer
    holds a new seat at the conference; a break-out offer holds a seat in that break-out for
    someone already coming.

    One statement, one round trip, written out by hand: it runs on every checkout while the
    others wait for the lock, and building the same counts with the ORM cost more time in
    Python (about 2 ms a call) than the database spends answering them.
    """
    ticket_type_ids = sorted(set(ticket_type_ids))
    session_ids = sorted(set(session_ids))
    sql, params = _seat_use_statement(conference_id, ticket_type_ids, session_ids, exclude_offer_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _seat_use_of(rows, ticket_type_ids, session_ids)


def lock_and_count(
    *,
    conference_id: int,
    ticket_type_ids: Iterable[int] = (),
    session_ids: Iterable[int] = (),
    exclude_offer_id: int | None = None,
) -> tuple[int, SeatUse]:
    """lock_capacity, then seat_use, in one round trip on PostgreSQL.

    The checkout's lock is held from the moment PostgreSQL grants it until the commit, and every
    buyer behind waits that long, so the three statements (the lock timeout, the lock, the
    count) are sent together in psycopg's pipeline mode: the count is already waiting at the
    server when the lock is granted, instead of a round trip to Python and back. It stays a
    statement of its own, so in READ COMMITTED it takes its snapshot after the lock was granted
    and sees every seat committed by the buyer before. Elsewhere the two calls are made.
    """
    ticket_type_ids = sorted(set(ticket_type_ids))
    session_ids = sorted(set(session_ids))
    if connection.vendor != "postgresql":
        seats = lock_capacity(conference_id=conference_id)
        use = seat_use(
            conference_id=conference_id,
            ticket_type_ids=ticket_type_ids,
            session_ids=session_ids,
            exclude_offer_id=exclude_offer_id,
        )
        return seats, use
    q, meta = connection.ops.quote_name, ConferencePage._meta
    # The conference's own row only, as lock_capacity's of=("self",): not Wagtail's page row.
    lock_sql = (
        f"SELECT {q(meta.get_field('capacity').column)} FROM {q(meta.db_table)} "  # noqa: S608
        f"WHERE {q(meta.pk.column)} = %s FOR NO KEY UPDATE"
    )
    count_sql, count_params = _seat_use_statement(
        conference_id, ticket_type_ids, session_ids, exclude_offer_id
    )
    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors:
        with raw.pipeline():
            timeout = raw.cursor()
            timeout.execute(
                "SET LOCAL lock_timeout = %s", [f"{settings.CONFERENCE_LOCK_TIMEOUT_MS}ms"]
            )
            lock = raw.cursor()
            lock.execute(lock_sql, [conference_id])
            count = raw.cursor()
            count.execute(count_sql, count_params)
        found = lock.fetchone()
        rows = count.fetchall()
    if found is None:
        raise ConferencePage.DoesNotExist(conference_id)
    return found[0], _seat_use_of(rows, ticket_type_ids, session_ids)


def _seat_use_statement(
    conference_id: int,
    ticket_type_ids: list[int],
    session_ids: list[int],
    exclude_offer_id: int | None,
) -> tuple[str, list[Param]]:
    """seat_use's one statement and its parameters."""
    q = connection.ops.quote_name
    attendee, order = q(Attendee._meta.db_table), q(Order._meta.db_table)
    choice, entry = q(BreakoutChoice._meta.db_table), q(WaitlistEntry._meta.db_table)
    # Only table names (from the models) and placeholders go into the text; values are
    # parameters. Each part yields rows of (what, id, count).
    holding = (
        f"JOIN {order} o ON o.id = a.order_id WHERE o.conference_id = %s AND o.status IN (%s, %s)"
    )
    holding_params: list[Param] = [conference_id, *SEAT_HOLDING_STATUSES]
    offers = (
        f"FROM {entry} w WHERE w.conference_id = %s AND w.status = %s "
        "AND w.offer_expires_at > %s AND w.id <> %s"
    )
    offer_params: list[Param] = [
        conference_id,
        WaitlistEntry.Status.OFFERED,
        timezone.now(),
        exclude_offer_id or 0,
    ]

    parts: list[tuple[str, list[Param]]] = [
        (f"SELECT 'held', 0, COUNT(*) FROM {attendee} a {holding}", holding_params),  # noqa: S608
        (f"SELECT 'offered', 0, COUNT(*) {offers} AND w.session_id IS NULL", offer_params),
    ]
    if ticket_type_ids:
        ids = ", ".join(["%s"] * len(ticket_type_ids))
        parts += [
            (
                f"SELECT 'held_t', a.ticket_type_id, COUNT(*) FROM {attendee} a {holding} "  # noqa: S608
                f"AND a.ticket_type_id IN ({ids}) GROUP BY a.ticket_type_id",
                [*holding_params, *ticket_type_ids],
            ),
            (
                f"SELECT 'offered_t', w.ticket_type_id, COUNT(*) {offers} AND w.session_id IS NULL "
                f"AND w.ticket_type_id IN ({ids}) GROUP BY w.ticket_type_id",
                [*offer_params, *ticket_type_ids],
            ),
        ]
    if session_ids:
        ids = ", ".join(["%s"] * len(session_ids))
        parts += [
            (
                f"SELECT 'held_s', c.session_id, COUNT(*) FROM {choice} c "  # noqa: S608
                f"JOIN {attendee} a ON a.id = c.attendee_id {holding} "
                f"AND c.session_id IN ({ids}) GROUP BY c.session_id",
                [*holding_params, *session_ids],
            ),
            (
                f"SELECT 'offered_s', w.session_id, COUNT(*) {offers} "
                f"AND w.session_id IN ({ids}) GROUP BY w.session_id",
                [*offer_params, *session_ids],
            ),
        ]
    sql = " UNION ALL ".join(part for part, _ in parts)
    params = [param for _, part_params in parts for param in part_params]
    return sql, params


def _seat_use_of(rows: list[Any], ticket_type_ids: list[int], session_ids: list[int]) -> SeatUse:
    use = SeatUse(
        by_ticket_type=dict.fromkeys(ticket_type_ids, 0), by_session=dict.fromkeys(session_ids, 0)
    )
    for kind, pk, n in rows:
        if kind in {"held", "offered"}:
            use.conference += n
        elif kind in {"held_t", "offered_t"}:
            use.by_ticket_type[pk] += n
        else:
            use.by_session[pk] += n
    return use


def seats_left_by_session(conference: ConferencePage) -> dict[int, int]:
    """Free seats of every break-out, for the agenda and the dashboard (one query)."""
    sessions = list(
        conference.sessions.filter(kind=Session.Kind.BREAKOUT).values_list("pk", "capacity")
    )
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
) -> dict[str, Any] | None:
    """The first noted sold-out among the conference, these ticket types and sessions."""
    whats = ["conference"]
    whats += [f"type:{pk}" for pk in sorted(ticket_type_ids)]
    whats += [f"session:{pk}" for pk in sorted(session_ids)]
    found = cache.get_many([_memo_key(conference_id, w) for w in whats])
    for what in whats:
        note: dict[str, Any] | None = found.get(_memo_key(conference_id, what))
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
