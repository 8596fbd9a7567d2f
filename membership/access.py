"""The one place the rest of the portal asks about membership.

Blog, conferences and discussions call these functions and never read membership tables
themselves, so the rules of who counts as a member live here alone. Until membership billing
exists, staff count as members and everyone else does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import QuerySet

MEMBER = "member"
NON_MEMBER = "non_member"


def is_active_member(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """True when the user may use member benefits right now."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_staff)


def price_tier(user: AbstractBaseUser | AnonymousUser | None) -> str:
    """The price list that applies to this user: MEMBER or NON_MEMBER."""
    return MEMBER if is_active_member(user) else NON_MEMBER


def active_members() -> QuerySet:
    """Users who are active members, as a queryset other apps can filter and join on."""
    return get_user_model().objects.filter(is_active=True, is_staff=True)
