"""The clock: memberships move along as time passes, and reminders go out ahead of the end."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Membership, Notice
from .billing import _end_stripe_subscription, _settle_by_clock
from .common import RENEWAL_SLACK, State, _lock, _on_enter, _record, access_end
from .notices import notice_queue


def memberships_advance(*, now: datetime | None = None) -> int:
    """Move memberships along as time passes: active past its period (and not renewed) into
    grace, grace past its end into lapsed, complimentary past its end into lapsed.
    Returns how many changed. Safe to run at any time and any number of times."""
    now = now or timezone.now()
    changed = 0
    due = Membership.objects.filter(
        Q(state=State.ACTIVE, is_complimentary=True, access_ends_at__lte=now)
        | Q(state=State.ACTIVE, is_complimentary=False, current_period_end__lte=now - RENEWAL_SLACK)
        | Q(state=State.GRACE, access_ends_at__lte=now)
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            m = _lock(pk)
            before = m.state
            # Read again under the lock: the row may have changed since the query above.
            ended = m.access_ends_at is not None and m.access_ends_at <= now
            if m.state == State.ACTIVE and m.is_complimentary and ended:
                m.state = State.LAPSED
                reason = "complimentary membership ended"
            elif (
                m.state == State.ACTIVE
                and m.current_period_end
                and m.current_period_end <= now - RENEWAL_SLACK
            ):
                m.state = State.GRACE
                m.grace_started_at = m.current_period_end
                m.access_ends_at = access_end(m, now=now)
                reason = "membership period ended without renewal"
                _settle_by_clock(m, now)
            elif m.state == State.GRACE and ended:
                m.state = State.LAPSED
                reason = "grace period over"
            else:
                continue
            m.save()
            _record(m, before, reason=reason)
            _on_enter(m, before, key=f"{m.grace_started_at or now:%Y-%m-%d}")
            if m.state == State.LAPSED:
                _end_stripe_subscription(m)
            changed += 1
    return changed


def reminders_queue(*, now: datetime | None = None) -> int:
    """Queue renewal reminders (30 and 7 days ahead, members without auto-renew) and the last
    grace warning. The ledger makes each one go out once, however often this runs."""
    now = now or timezone.now()
    queued = 0
    days = sorted(settings.MEMBERSHIP_RENEWAL_REMINDER_DAYS, reverse=True)
    kinds = {30: Notice.Kind.RENEWAL_30, 7: Notice.Kind.RENEWAL_7}
    for index, ahead in enumerate(days):
        kind = kinds.get(ahead, Notice.Kind.RENEWAL_30)
        closer = days[index + 1] if index + 1 < len(days) else 0
        window = Membership.objects.filter(
            state=State.ACTIVE,
            auto_renew=False,
            current_period_end__gt=now + timedelta(days=closer),
            current_period_end__lte=now + timedelta(days=ahead),
        )
        for m in window.select_related("user"):
            queued += notice_queue(membership=m, kind=kind, key=f"{m.current_period_end:%Y-%m-%d}")
    warn = timedelta(days=settings.MEMBERSHIP_GRACE_WARNING_DAYS)
    for m in Membership.objects.filter(
        state=State.GRACE, access_ends_at__gt=now, access_ends_at__lte=now + warn
    ).select_related("user"):
        queued += notice_queue(
            membership=m, kind=Notice.Kind.GRACE_WARNING, key=f"{m.grace_started_at:%Y-%m-%d}"
        )
    return queued
