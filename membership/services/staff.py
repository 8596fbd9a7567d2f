"""Staff actions from the Wagtail admin: complimentary grants and cancellations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from ..models import Membership, Plan, StateChange
from .billing import _end_stripe_subscription
from .common import MembershipError, State, _lock, _on_enter, _record

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def membership_grant_complimentary(
    *, user: User, plan: Plan, ends_at: datetime, actor: User, reason: str
) -> Membership:
    """Give a person free membership until `ends_at`; recorded with who and why."""
    if ends_at <= timezone.now():
        raise MembershipError("The end date must be in the future.")
    with transaction.atomic():
        m = Membership.objects.select_for_update().filter(user=user, practice__isnull=True).first()
        if m is None:
            m = Membership.objects.create(user=user, plan=plan)
            _record(m, "", reason="complimentary membership created")
        if m.is_live and not m.is_complimentary:
            raise MembershipError("This person already has a paid membership.")
        before = m.state
        m.plan = plan
        m.state = State.ACTIVE
        m.is_complimentary = True
        m.auto_renew = False
        m.current_period_end = ends_at
        m.access_ends_at = ends_at
        m.grace_started_at = None
        m.started_at = m.started_at or timezone.now()
        m.save()
        StateChange.objects.create(
            membership=m,
            from_state=before,
            to_state=m.state,
            actor=actor,
            reason=f"complimentary until {ends_at:%Y-%m-%d}: {reason}"[:300],
        )
        _on_enter(m, before, key=f"comp-{ends_at:%Y-%m-%d}")
    return m


def membership_cancel(*, membership: Membership, actor: User, reason: str) -> Membership:
    """End a membership now (staff action); its Stripe subscription is canceled too."""
    with transaction.atomic():
        m = _lock(membership.pk)
        before = m.state
        m.state = State.CANCELED
        m.access_ends_at = timezone.now()
        m.auto_renew = False
        m.save()
        StateChange.objects.create(
            membership=m, from_state=before, to_state=m.state, actor=actor, reason=reason[:300]
        )
        _end_stripe_subscription(m)
    return m
