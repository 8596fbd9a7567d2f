"""Consent categories for optional mail, asked by every sender of such mail.

    from portal import consent
    consent.allows(user_or_email, consent.ConsentCategory.NEW_ARTICLES)  # before sending
    consent.unsubscribe_url(user_or_email, category)   # the List-Unsubscribe link (RFC 8058)
    consent.opted_out(category, emails)                 # the set to leave out of a fan-out

An address is in every category until it opts out (a `ConsentOptOut` row). Addresses are
compared lower-cased. The unsubscribe link carries a signed token naming the address and the
category, so it works without a login and a tampered one changes nothing. Receipts, tickets
and security mail have no category and are never asked about.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from .models import ConsentCategory, ConsentOptOut

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "ConsentCategory",
    "allows",
    "opt_in",
    "opt_out",
    "opted_out",
    "opted_out_by",
    "token_read",
    "unsubscribe_token",
    "unsubscribe_url",
]

_SALT = "portal.consent.unsubscribe"


def _email(email_or_user: str | AbstractBaseUser) -> str:
    value = email_or_user if isinstance(email_or_user, str) else getattr(email_or_user, "email", "")
    return (value or "").strip().lower()


def allows(email_or_user: str | AbstractBaseUser, category: str) -> bool:
    """Whether mail of `category` may go to this address (True unless it opted out)."""
    email = _email(email_or_user)
    if not email:
        return False
    return not ConsentOptOut.objects.filter(email=email, category=category).exists()


def opted_out(category: str, emails: Iterable[str] | None = None) -> set[str]:
    """Lower-cased addresses that refused `category`, among `emails` (or all of them)."""
    rows = ConsentOptOut.objects.filter(category=category)
    if emails is not None:
        rows = rows.filter(email__in=[e.lower() for e in emails])
    return set(rows.values_list("email", flat=True))


def opt_out(email_or_user: str | AbstractBaseUser, category: str) -> bool:
    """Record a no. Returns False when it was already recorded (a second click is harmless)."""
    email = _email(email_or_user)
    if category not in ConsentCategory.values or not email:
        raise ValueError(f"not a consent category or address: {category!r}")
    try:
        with transaction.atomic():
            ConsentOptOut.objects.create(email=email, category=category)
    except IntegrityError:
        return False
    return True


def opt_in(email_or_user: str | AbstractBaseUser, category: str) -> None:
    ConsentOptOut.objects.filter(email=_email(email_or_user), category=category).delete()


def unsubscribe_token(email_or_user: str | AbstractBaseUser, category: str) -> str:
    """A signed, non-expiring token naming one address and one category (RFC 8058 links must
    keep working for as long as the mail sits in someone's inbox)."""
    return signing.Signer(salt=_SALT).sign_object([category, _email(email_or_user)])


def token_read(token: str) -> tuple[str, str]:
    """(email, category) from a token; raises signing.BadSignature when it was tampered with
    or names no category."""
    value = signing.Signer(salt=_SALT).unsign_object(token)
    match value:
        case [str() as category, str() as email] if (
            category in ConsentCategory.values and "@" in email
        ):
            return email, category
    raise signing.BadSignature("malformed")


def unsubscribe_url(email_or_user: str | AbstractBaseUser, category: str) -> str:
    """The absolute https link for List-Unsubscribe and the footer."""
    path = reverse(
        "consent-unsubscribe", kwargs={"token": unsubscribe_token(email_or_user, category)}
    )
    return f"{settings.SITE_URL}{path}"


def opted_out_by(email_or_user: str | AbstractBaseUser) -> set[str]:
    """The categories this address refused."""
    return set(
        ConsentOptOut.objects.filter(email=_email(email_or_user)).values_list("category", flat=True)
    )
