"""What the membership services share: the error they raise, who manages which membership,
the grace period, state history and the row lock."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from ..models import Membership, Notice, Seat, StateChange
from .notices import notice_queue

State = Membership.State

# Stripe renews at the period end and tells us a little later; don't call that a lapse.
RENEWAL_SLACK = timedelta(hours=24)


class MembershipError(Exception):
    """A request that membership rules refuse; the message may be shown to the user."""


def membership_for_user(user) -> Membership | None:
    """The membership this person manages: their own, or the practice's they administer."""
    if not user.is_authenticated:
        return None
    rows = list(Membership.objects.filter(user=user).select_related("plan", "practice"))
    if not rows:
        return None
    rows.sort(key=lambda m: (not m.is_live, m.practice_id is None, -m.pk))
    return rows[0]


def seat_membership_for_user(user) -> Membership | None:
    """The practice membership the user holds a seat on (as staff, not as admin), if any."""
    seat = (
        Seat.objects.filter(user=user, removed_at__isnull=True)
        .exclude(membership__user=user)
        .select_related("membership__plan", "membership__practice")
        .order_by("-pk")
        .first()
    )
    return seat.membership if seat else None


def grace_days() -> timedelta:
    return timedelta(days=settings.MEMBERSHIP_GRACE_DAYS)


def _record(membership: Membership, from_state: str, *, reason: str, actor=None) -> None:
    if from_state != membership.state:
        StateChange.objects.create(
            membership=membership,
            from_state=from_state,
            to_state=membership.state,
            actor=actor,
            reason=reason[:300],
        )


def _on_enter(membership: Membership, from_state: str, *, key: str) -> None:
    """Notices that a change of state sends (each once, through the ledger)."""
    to = membership.state
    if to == from_state:
        return
    if to in Membership.LIVE_STATES and from_state not in Membership.LIVE_STATES:
        notice_queue(membership=membership, kind=Notice.Kind.WELCOME, key=key)
    elif to == State.LAPSED:
        notice_queue(membership=membership, kind=Notice.Kind.LAPSED, key=key)


def _lock(pk: int) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",)).select_related("plan", "user").get(pk=pk)
    )
