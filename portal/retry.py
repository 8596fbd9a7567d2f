"""How a Celery task that talks to an outside system tries again: one policy per system.

A task passes its system's policy to `shared_task(**SMTP_RETRY)` (or STRIPE_RETRY, CDN_RETRY)
and retries nothing else by hand. Every task under a policy must be safe to run twice: ledgered
mail goes through `portal.sendonce`, Stripe calls carry idempotency keys or re-read Stripe's
state, a CDN purge is idempotent.

Stored webhook events are the one exception: their attempts, backoff and parking live with the
event row (`payments.services.stripe_event_apply`, STRIPE_EVENT_* settings), so staff can see
and retry them.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from django.db import OperationalError


class MailRetryLater(Exception):
    """A send that may work later: the connection broke mid-batch (discussions.smtp), or
    another worker is sending the same mail right now (portal.sendonce.SendInProgress)."""


class StripeFailure(Exception):
    """A Stripe call failed. payments.gateway.GatewayError derives from it, so the Stripe policy
    can name it here without portal importing payments."""


class RetryPolicy(TypedDict):
    """The shared_task options a policy sets (typed, so the task decorators type-check)."""

    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: bool | int
    retry_backoff_max: NotRequired[int]
    retry_jitter: NotRequired[bool]
    max_retries: int
    acks_late: bool


# A mail server that is down, refusing for now (smtplib's errors are OSErrors), or a mail
# another worker is sending: retry for about a day, growing from 30 seconds to an hour apart.
# The growth also outlasts MAIL_CLAIM_TIMEOUT, so a claim left by a dead worker is taken over.
SMTP_RETRY: RetryPolicy = {
    "autoretry_for": (OSError, MailRetryLater),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 12,
    "acks_late": True,
}

# Stripe unreachable or refusing, or a transient database conflict while applying its answer
# (a lock held by another worker, a serialization failure): retry quickly, at most 5 minutes
# apart, ten times.
STRIPE_RETRY: RetryPolicy = {
    "autoretry_for": (StripeFailure, OperationalError),
    "retry_backoff": 1,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 10,
    "acks_late": True,
}

# The CDN's purge API unreachable (a purge is idempotent): a few quick tries, then give up; the
# pages' cache lifetime bounds how long a stale listing can show.
CDN_RETRY: RetryPolicy = {
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "max_retries": 5,
    "acks_late": True,
}
