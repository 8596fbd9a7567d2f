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


def account_claim_link(user_id: int) -> str | None:
    """The link an imported member follows to set a password (allauth's password reset from
    a key, so its rate limits and rules apply); None once the account was claimed."""
    from allauth.account import app_settings as allauth_settings
    from allauth.account.utils import user_pk_to_url_str
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.has_usable_password() or user.last_login is not None:
        return None
    token = allauth_settings.PASSWORD_RESET_TOKEN_GENERATOR().make_token(user)
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": token},
    )
    return f"{settings.SITE_URL}{path}"


def account_verify_after_reset(user: User) -> bool:
    """A password reset from a key proves the mailbox the key went to. An imported account has
    one address, so that one is verified (else allauth would ask for a second mail at the
    first login). Accounts with several addresses are left as they are."""
    addresses = list(EmailAddress.objects.filter(user=user)[:2])
    if len(addresses) != 1 or addresses[0].verified:
        return False
    if addresses[0].email.lower() != user.email.lower():
        return False
    EmailAddress.objects.filter(pk=addresses[0].pk).update(verified=True, primary=True)
    return True
