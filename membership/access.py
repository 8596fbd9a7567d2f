"""The one place the rest of the portal asks about membership.

Blog, conferences and discussions call these functions and never read membership tables
themselves, so the rules of who counts as a member live here alone:

- A person is an active member while their own membership is active or in grace, or while they
  hold a seat on a practice membership that is active or in grace. Complimentary memberships
  count. Staff are not members unless they have a membership of their own.
- "Active or in grace" also means "not past `access_ends_at`", so access ends on time even if
  the beat task that moves states runs late.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from portal.cache import may_use_admin

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import QuerySet

MEMBER = "member"
NON_MEMBER = "non_member"


def _membership_condition(at=None) -> Q:
    """A condition on users: holds live member access at `at` (now). Two EXISTS subqueries on
    indexed columns, so it stays cheap to filter and join on for tens of thousands of users."""
    from .models import Membership, Seat

    live = Membership.objects.live(at)
    own = live.filter(user=OuterRef("pk"), practice__isnull=True)
    seat = Seat.objects.filter(
        user=OuterRef("pk"),
        removed_at__isnull=True,
        membership__in=live.filter(practice__isnull=False).values("pk"),
    )
    return Q(Exists(own)) | Q(Exists(seat))


def is_active_member(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """True when the user may use member benefits right now (active or in grace)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    from .models import Membership

    # The same rule as _membership_condition, asked from the memberships' side for one user:
    # it runs on every members-only page and every checkout, and this shape costs half the
    # time to build and run of filtering all users by the two EXISTS subqueries.
    return (
        Membership.objects.live()
        .filter(
            Q(user_id=user.pk, practice__isnull=True)
            | Q(practice__isnull=False, seats__user_id=user.pk, seats__removed_at__isnull=True)
        )
        .exists()
    )


def can_read_members_only(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Whether members-only content may be shown to this user.

    Active members may; so may staff and editors with admin access, who must be able to
    check what they publish.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser or may_use_admin(user):
        return True
    return is_active_member(user)


def price_tier(user: AbstractBaseUser | AnonymousUser | None) -> str:
    """The price list that applies to this user: MEMBER or NON_MEMBER."""
    return MEMBER if is_active_member(user) else NON_MEMBER


def active_members() -> QuerySet:
    """Users who are active members right now, as a queryset other apps can filter and join on."""
    return get_user_model().objects.filter(_membership_condition(timezone.now()), is_active=True)
