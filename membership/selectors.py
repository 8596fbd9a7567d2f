"""Reads that take some care: the member directory and the staff dashboard figures."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from . import access
from .models import MemberProfile, Membership, Payment


def directory_profiles(*, q: str = "", state: str = ""):
    """Opted-in profiles of active members, searchable by name, practice and state.
    One query however many rows: the user comes with each profile."""
    profiles = (
        MemberProfile.objects.filter(in_directory=True, user__in=access.active_members())
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )
    for word in q.split():
        profiles = profiles.filter(
            Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(practice_name__icontains=word)
        )
    if state:
        profiles = profiles.filter(state=state)
    return profiles


def state_counts() -> dict[str, int]:
    """How many memberships are in each state (access-wise: a lapse due now counts as lapsed)."""
    counts = dict(
        Membership.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    return {state: counts.get(state, 0) for state in Membership.State.values}


def dues_by_month(*, months: int = 12) -> list[tuple[str, int]]:
    """Dues collected per calendar month (net of refunds), oldest first, in cents."""
    since = (timezone.now() - timedelta(days=31 * (months - 1))).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    rows = (
        Payment.objects.filter(paid_at__gte=since)
        .exclude(status=Payment.Status.FAILED)
        .annotate(month=TruncMonth("paid_at"))
        .values("month")
        .annotate(total=Sum("amount_cents"), refunded=Sum("amount_refunded_cents"))
        .order_by("month")
    )
    return [(r["month"].strftime("%b %Y"), r["total"] - r["refunded"]) for r in rows]


def states_by_month(*, months: int = 12) -> list[tuple[str, dict[str, int]]]:
    """How many memberships were active, in grace, lapsed and pending at the end of each of
    the last `months` months (this month: today), oldest first.

    Memberships keep dates, not a log of their states, so a month's picture is rebuilt from
    them: started before the month's end and access not ended then is active (or in grace if
    grace had begun); access ended by then is lapsed; created but not yet started is pending.
    Canceled memberships count as lapsed once their access ended.
    """
    from portal.charts import month_starts

    starts = month_starts(months)
    now = timezone.now()
    ends = [*starts[1:], now]
    rows = list(
        Membership.objects.values_list(
            "created_at", "started_at", "grace_started_at", "access_ends_at", "state"
        )
    )
    result = []
    for start, end in zip(starts, ends, strict=True):
        end = min(end, now)
        counts = {"active": 0, "grace": 0, "lapsed": 0, "pending": 0}
        for created, started, grace, access_ends, state in rows:
            if created > end or (started is None and state != Membership.State.PENDING):
                continue  # not yet made, or never started and no longer waiting to
            if started is None or started > end:
                counts["pending"] += 1
            elif access_ends is not None and access_ends <= end:
                counts["lapsed"] += 1
            elif grace is not None and grace <= end:
                counts["grace"] += 1
            else:
                counts["active"] += 1
        result.append((start.strftime("%b %Y"), counts))
    return result
