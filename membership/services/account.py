"""Deleting an account while keeping the financial records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db import transaction
from django.utils import timezone

from ..models import MemberProfile, Membership, Seat
from .billing import _end_stripe_subscription
from .common import State, _record

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def account_delete(*, user: User) -> None:
    """Delete a person's account but keep the financial records.

    The user row stays (payments and state history point at it) but loses everything that
    identifies them: name, email addresses, profile, MFA, password. Their membership ends and
    the Stripe subscription is canceled; payments keep the billed name and email for the books.
    """
    with transaction.atomic():
        for m in Membership.objects.filter(user=user).select_for_update():
            if m.state not in {State.LAPSED, State.CANCELED}:
                before = m.state
                m.state = State.CANCELED
                m.access_ends_at = timezone.now()
                m.auto_renew = False
                m.save()
                _record(m, before, reason="account deleted by its owner", actor=user)
                _end_stripe_subscription(m)
        Seat.objects.filter(user=user, removed_at__isnull=True).update(removed_at=timezone.now())
        MemberProfile.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        user.username = f"deleted-{user.pk}"
        user.email = ""
        user.first_name = user.last_name = ""
        user.is_active = False
        user.is_staff = user.is_superuser = False
        user.set_unusable_password()
        user.save()
        user.groups.clear()
