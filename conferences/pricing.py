"""The quote a buyer reviews before paying: each attendee's price, the discount, the total.

It prices with services.order_create's own steps (the owner's membership tier, early-bird
while it runs, a discount code on top) but writes nothing and takes no lock; the order itself
is priced again when it is placed, and the register view compares the two so a price that changed in
between (an early-bird that ended) is shown before anyone pays it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from membership import access

from .models import (
    SEAT_HOLDING_STATUSES,
    Attendee,
    ConferencePage,
    DiscountCode,
    Session,
    TicketType,
)
from .services import AttendeeSpec, RegistrationError
from .services.orders import discount_code_for, price_tickets


@dataclass
class QuoteLine:
    spec: AttendeeSpec
    ticket_type: TicketType
    breakouts: list[Session]
    price_cents: int
    discount_cents: int
    early_bird: bool

    @property
    def total_cents(self) -> int:
        return self.price_cents - self.discount_cents


@dataclass
class Quote:
    tier: str
    lines: list[QuoteLine]
    discount_code: DiscountCode | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def is_member(self) -> bool:
        return self.tier == access.MEMBER

    @property
    def subtotal_cents(self) -> int:
        return sum(line.price_cents for line in self.lines)

    @property
    def discount_cents(self) -> int:
        return sum(line.discount_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents


def quote(
    *,
    conference: ConferencePage,
    owner,
    attendees: list[AttendeeSpec],
    discount_code: str = "",
    at=None,
) -> Quote:
    """Price these attendees for `owner` now. Raises RegistrationError for a ticket type or
    discount code that cannot be used (the same words order_create would use)."""
    at = at or timezone.now()
    tier = access.price_tier(owner)
    types = {t.pk: t for t in conference.ticket_types.filter(is_active=True)}
    sessions = {s.pk: s for s in conference.sessions.filter(kind=Session.Kind.BREAKOUT)}
    code = discount_code_for(
        conference_id=conference.pk, code=discount_code.strip().upper(), now=at
    )
    if any(spec.ticket_type_id not in types for spec in attendees):
        raise RegistrationError("Choose a ticket type for every attendee.")
    priced = price_tickets(attendees, ticket_types=types, tier=tier, code=code, now=at)
    if code and not any(ticket.discounted for ticket in priced):
        raise RegistrationError(f"The code {code.code} does not apply to these tickets.")
    lines = [
        QuoteLine(
            spec=ticket.spec,
            ticket_type=ticket.ticket_type,
            breakouts=sorted(
                (sessions[pk] for pk in ticket.spec.session_ids if pk in sessions),
                key=lambda s: s.starts_at,
            ),
            price_cents=ticket.price_cents,
            discount_cents=ticket.discount_cents,
            early_bird=ticket.price_cents != ticket.ticket_type.regular_price_cents(tier),
        )
        for ticket in priced
    ]
    result = Quote(tier=tier, lines=lines, discount_code=code)
    result.warnings = already_registered_warnings(conference=conference, attendees=attendees)
    return result


def already_registered_warnings(
    *, conference: ConferencePage, attendees: list[AttendeeSpec]
) -> list[str]:
    """A warning per email that already holds a ticket here (or twice in this order): a second
    ticket is allowed (a buyer may mean it) but usually is a mistake."""
    emails = [spec.email.strip().lower() for spec in attendees]
    matches = Q()
    for email in set(emails):
        matches |= Q(email__iexact=email)
    taken = {
        e.lower()
        for e in Attendee.objects.filter(
            matches, order__conference=conference, order__status__in=SEAT_HOLDING_STATUSES
        ).values_list("email", flat=True)
    }
    warnings = []
    seen = set()
    for email in emails:
        if email in seen:
            warnings.append(f"{email} is listed twice in this order.")
        elif email in taken:
            warnings.append(f"{email} already has a ticket for this conference.")
        seen.add(email)
    return warnings
