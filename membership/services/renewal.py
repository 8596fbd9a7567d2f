"""Renewing from the reminder mail: a signed link to Checkout for one membership, no login.

The link is a `django.core.signing` signature (its own salt) over the membership's id, the end
of the period the reminder is about and the moment the link stops working: the end of the
renewal window, when access would stop (the period end plus the grace days). Nothing is
stored. A link for a period that has since moved on (paid, by this link or any other way)
says "already renewed" instead of charging twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.db.models import TextChoices
from django.utils import timezone

from ..models import Membership
from .billing import _PAID
from .common import State, grace_days

LINK_SALT = "membership.renewal-link"


class LinkState(TextChoices):
    OPEN = "open", "Ready to renew"
    TAMPERED = "tampered", "Not a link we issued"
    EXPIRED = "expired", "The renewal window has closed"
    RENEWED = "renewed", "Already renewed"
    BY_STRIPE = "by_stripe", "Renews through the member's Stripe subscription"


@dataclass(frozen=True)
class RenewalLink:
    state: LinkState
    membership: Membership | None = None
    expires_at: datetime | None = None


def renewal_window_end(membership: Membership) -> datetime | None:
    if membership.current_period_end is None:
        return None
    return membership.current_period_end + grace_days()


def renewal_token(membership: Membership) -> str:
    """The signed token for the membership's current period; empty without a period end."""
    ends = renewal_window_end(membership)
    if membership.current_period_end is None or ends is None:
        return ""
    payload = {
        "m": membership.pk,
        "p": int(membership.current_period_end.timestamp()),
        "x": int(ends.timestamp()),
    }
    return signing.dumps(payload, salt=LINK_SALT, compress=False)


def renewal_read(token: str, *, now: datetime | None = None) -> RenewalLink:
    """What a renewal link opens. Only OPEN may go on to Checkout."""
    now = now or timezone.now()
    try:
        payload = signing.loads(token, salt=LINK_SALT)
        pk, period, expires = int(payload["m"]), int(payload["p"]), int(payload["x"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return RenewalLink(LinkState.TAMPERED)
    membership = Membership.objects.select_related("plan", "user", "practice").filter(pk=pk).first()
    if membership is None:
        return RenewalLink(LinkState.TAMPERED)
    expires_at = datetime.fromtimestamp(expires, tz=now.tzinfo)
    end = membership.current_period_end
    if end is not None and int(end.timestamp()) > period and membership.is_live:
        return RenewalLink(LinkState.RENEWED, membership, expires_at)
    if now >= expires_at:
        return RenewalLink(LinkState.EXPIRED, membership, expires_at)
    if membership.state == State.CANCELED or not membership.user.is_active:
        return RenewalLink(LinkState.EXPIRED, membership, expires_at)
    if membership.stripe_subscription_id and membership.stripe_subscription_status in _PAID:
        # A subscription set to end at its period end: a second one would be charged beside
        # it, so the member turns renewal back on in their billing settings instead.
        return RenewalLink(LinkState.BY_STRIPE, membership, expires_at)
    return RenewalLink(LinkState.OPEN, membership, expires_at)
