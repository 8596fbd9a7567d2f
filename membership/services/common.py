"""What the membership services share: the error they raise, who manages which membership,
the grace period, state history and the row lock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings

from ..models import Membership, Notice, Seat, StateChange
from .notices import notice_queue

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

State = Membership.State

# Stripe renews at the period end and tells us a little later; don't call that a lapse.
RENEWAL_SLACK = timedelta(hours=24)


class MembershipError(Exception):
    """A request that membership rules refuse; the message may be shown to the user."""


def membership_for_user(user: User | AnonymousUser) -> Membership | None:
    """The membership this person manages: their own, or the practice's they administer."""
    if not user.is_authenticated:
        return None
    rows = list(Membership.objects.filter(user=user).select_related("plan", "practice"))
    if not rows:
        return None
    rows.sort(key=lambda m: (not m.is_live, m.practice_id is None, -m.pk))
    return rows[0]


def seat_membership_for_user(user: User) -> Membership | None:
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


def access_end(
    membership: Membership, *, now: datetime, ended_at: datetime | None = None
) -> datetime | None:
    """When member access stops, by the state the membership is in; the one rule for it.

    Active: the end of the paid period plus the grace days (a renewal that fails at the period
    end starts grace there, so access never stops in between). In grace: the grace start plus
    the grace days. Canceled: when it ended (`ended_at`, else now). Lapsed and pending keep the
    end they have. Complimentary grants set their own end date.
    """
    if membership.state == State.ACTIVE:
        return (membership.current_period_end or now) + grace_days()
    if membership.state == State.GRACE:
        if membership.grace_started_at is None:
            raise ValueError(f"membership {membership.pk} is in grace with no start date")
        return membership.grace_started_at + grace_days()
    if membership.state == State.CANCELED:
        return ended_at or now
    return membership.access_ends_at


def _record(
    membership: Membership, from_state: str, *, reason: str, actor: User | None = None
) -> None:
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
