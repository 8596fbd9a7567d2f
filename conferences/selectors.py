"""Reads for pages and staff tools, tuned so their query count does not grow with the lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from membership import access
from portal.cache import per_generation
from portal.charts import month_starts

from . import capacity
from .models import (
    SEAT_HOLDING_STATUSES,
    AccessCode,
    Attendee,
    ConferencePage,
    Order,
    Session,
    TicketType,
    format_cents,
)


@dataclass(frozen=True)
class Catalogue:
    """What a checkout needs to know about a conference before it takes the seat lock."""

    registration_open: bool
    end_date: date
    max_attendees: int
    ticket_types: dict[int, TicketType]  # id -> active TicketType
    breakouts: dict[int, Session]  # id -> break-out Session


def checkout_catalogue(conference_id: int) -> Catalogue | None:
    """The conference's registration window, active ticket types and break-outs, kept per
    content generation in this process (None when there is no such conference).

    Every checkout needs them and staff change them rarely, so three queries per checkout are
    saved; saving a conference, ticket type or session starts a new generation (apps.py), which
    reaches other processes within half a second. Capacities that decide a sale are not taken
    from here: seats are counted, and the conference's capacity read, under the lock. The
    objects are shared between requests, so callers must not change them.
    """

    def build():
        conference = (
            ConferencePage.objects.filter(pk=conference_id)
            .values("registration_open", "end_date", "max_attendees_per_order")
            .first()
        )
        if conference is None:
            return None
        return Catalogue(
            registration_open=conference["registration_open"],
            end_date=conference["end_date"],
            max_attendees=conference["max_attendees_per_order"],
            ticket_types={
                t.pk: t
                for t in TicketType.objects.filter(conference_id=conference_id, is_active=True)
            },
            breakouts={
                s.pk: s
                for s in Session.objects.filter(
                    conference_id=conference_id, kind=Session.Kind.BREAKOUT
                )
            },
        )

    return per_generation(f"conferences:catalogue:{conference_id}", build)


def access_code_unlocking(*, conference: ConferencePage, code: str) -> AccessCode | None:
    """The conference's access code `code` (any case) while it is valid, else None."""
    found = (
        AccessCode.objects.filter(conference=conference, code=code.strip().upper())
        .prefetch_related("ticket_types")
        .first()
    )
    return found if found and found.is_valid() else None


def ticket_offers(
    *, conference: ConferencePage, user, access_code: AccessCode | None = None
) -> list[dict]:
    """Each active ticket type with the price this user pays now and whether any are left.

    Hidden ticket types are left out unless `access_code` unlocks them."""
    tier = access.price_tier(user)
    unlocked = {t.pk for t in access_code.ticket_types.all()} if access_code else set()
    types = [
        t
        for t in conference.ticket_types.filter(is_active=True)
        if not t.requires_code or t.pk in unlocked
    ]
    use = capacity.seat_use(
        conference_id=conference.pk,
        ticket_type_ids=[t.pk for t in types if t.capacity is not None],
    )
    conference_full = use.conference >= conference.capacity
    offers = []
    for t in types:
        price = t.price_cents(tier)
        regular = t.member_price_cents if tier == access.MEMBER else t.non_member_price_cents
        left = None if t.capacity is None else max(0, t.capacity - use.by_ticket_type.get(t.pk, 0))
        offers.append(
            {
                "ticket_type": t,
                "price": format_cents(price) if price else "Free",
                "price_cents": price,
                "regular": format_cents(regular) if regular != price else "",
                "member_price": format_cents(t.price_cents(access.MEMBER)),
                "early_bird": t.is_early_bird() and price != regular,
                "left": left,
                "sold_out": conference_full or left == 0,
            }
        )
    return offers


def conference_page_context(*, conference: ConferencePage, user) -> dict:
    seats_left = capacity.seats_left_by_session(conference)
    agenda = conference.agenda()
    for day in agenda:
        for slot in day["slots"]:
            for session in slot["sessions"]:
                session.seats_left = seats_left.get(session.pk)
            slot["parallel"] = len(slot["sessions"]) > 1
    sponsors = {}
    for sponsor in conference.sponsors.select_related("logo"):
        sponsors.setdefault(sponsor.get_tier_display(), []).append(sponsor)
    orders = []
    if user.is_authenticated:
        orders = list(
            Order.objects.filter(conference=conference, owner=user).prefetch_related("attendees")
        )
    return {
        "tier": access.price_tier(user),
        "is_member": access.is_active_member(user),
        "offers": ticket_offers(conference=conference, user=user),
        "agenda": agenda,
        "speakers": conference.speakers.select_related("photo").prefetch_related("sessions"),
        "sponsor_tiers": sponsors,
        "my_orders": orders,
    }


def breakout_slots(conference: ConferencePage) -> list[dict]:
    """Break-outs grouped by time slot, with seats left, for the registration form."""
    seats_left = capacity.seats_left_by_session(conference)
    slots: dict = {}
    for session in conference.sessions.filter(kind=Session.Kind.BREAKOUT).order_by(
        "starts_at", "sort_order"
    ):
        session.seats_left = seats_left.get(session.pk, 0)
        slots.setdefault(session.starts_at, []).append(session)
    return [{"starts_at": k, "sessions": v} for k, v in slots.items()]


def registrations(
    *, conference: ConferencePage, status: str = "", ticket_type: str = "", q: str = ""
):
    """Attendees for the staff list, filtered; one query with what the rows show."""
    rows = (
        Attendee.objects.filter(order__conference=conference)
        .select_related("order", "order__owner", "ticket_type")
        .prefetch_related("choices__session")
        .order_by("last_name", "first_name", "pk")
    )
    if status:
        rows = rows.filter(order__status=status)
    if ticket_type:
        rows = rows.filter(ticket_type_id=ticket_type)
    if q:
        rows = rows.filter(
            Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
            | Q(practice__icontains=q)
            | Q(ticket_code__iexact=q)
            | Q(order__code__iexact=q)
        )
    return rows


def dashboard(conference: ConferencePage) -> dict:
    """Registrations by ticket type, seats left per break-out and revenue."""
    by_type = (
        TicketType.objects.filter(conference=conference)
        .annotate(
            paid=Count("attendees", filter=Q(attendees__order__status=Order.Status.PAID)),
            held=Count("attendees", filter=Q(attendees__order__status=Order.Status.HELD)),
        )
        .order_by("sort_order", "pk")
    )
    seats_left = capacity.seats_left_by_session(conference)
    breakouts = list(conference.sessions.filter(kind=Session.Kind.BREAKOUT))
    for session in breakouts:
        session.seats_left = seats_left.get(session.pk, 0)
    money = Order.objects.filter(conference=conference, paid_at__isnull=False).aggregate(
        gross=Sum("total_cents"), refunded=Sum("refunded_cents")
    )
    gross = money["gross"] or 0
    refunded = money["refunded"] or 0
    attending = Attendee.objects.filter(
        order__conference=conference, order__status__in=SEAT_HOLDING_STATUSES
    ).count()
    return {
        "conference": conference,
        "by_type": by_type,
        "breakouts": breakouts,
        "attending": attending,
        "capacity_left": max(0, conference.capacity - attending),
        "revenue": format_cents(gross - refunded),
        "gross": format_cents(gross),
        "refunded": format_cents(refunded),
        "checked_in": Attendee.objects.filter(
            order__conference=conference,
            order__status=Order.Status.PAID,
            checked_in_at__isnull=False,
        ).count(),
    }


def revenue_by_month(*, months: int = 12) -> list[tuple[str, int]]:
    """Conference revenue (every conference, net of refunds) per calendar month of payment,
    oldest first, in cents; months with none are 0."""
    starts = month_starts(months)
    totals = {
        row["month"].date().replace(day=1): (row["gross"] or 0) - (row["refunded"] or 0)
        for row in Order.objects.filter(paid_at__gte=starts[0])
        .annotate(month=TruncMonth("paid_at"))
        .values("month")
        .annotate(gross=Sum("total_cents"), refunded=Sum("refunded_cents"))
    }
    return [(start.strftime("%b %Y"), totals.get(start.date(), 0)) for start in starts]
