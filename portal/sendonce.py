"""Send this mail exactly once: the one way every app's tasks send a mail they keep a ledger of.

Each app keeps its own record of what went out (`Notice.sent_at`, `Digest.sent_at`, a
discussions message's `*_notified_at`, the conferences' `SentMail` rows). This module adds the
claim that keeps two workers from sending the same mail, and holds no database lock while the
mail server talks:

1. claim, in a short transaction: insert a `MailClaim` row for the mail's key (unique), or take
   over a claim older than MAIL_CLAIM_TIMEOUT; then read the app's record. Already sent: give
   the claim back and stop. Claimed by a live worker: raise SendInProgress, which the SMTP
   retry policy retries later, when that worker has finished or its claim has gone stale.
2. build and send the mail, outside any transaction.
3. mark it sent, in a second short transaction: write the app's record and drop the claim.

A send that raises gives the claim back at once, so the task's retry sends it after all.

The trade-off, since SMTP offers nothing better: a mail is never lost, and is doubled only if a
worker dies (or its database goes away) after the mail server accepted the message and before
step 3 committed, or if one send outlasts MAIL_CLAIM_TIMEOUT; then the claim goes stale and a
retry sends a second copy. The opposite choice, never retrying a stale claim, would lose the
mail instead, and a lost renewal notice or ticket costs more than a duplicate.

Why the claim comes before the record is read: a worker finishing step 3 holds its claim row
until it commits, so a second worker's insert waits for it and then reads the record already
marked. Read the other way round, the second worker could read "not sent" just before the
first commits, and send again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .models import MailClaim
from .retry import MailRetryLater


class SendInProgress(MailRetryLater):
    """Another worker claimed this mail and may be sending it right now; try again later."""


def send_once(
    key: str,
    build: Callable[[], EmailMessage | None],
    *,
    is_sent: Callable[[], bool],
    mark_sent: Callable[[], object],
) -> bool:
    """Send the message `build()` returns unless `is_sent()`; True when this call sent it.

    `key` names the mail among all apps' mail (prefix it with the app). `build` runs after the
    claim, so it sees the current rows; it returns None when there is nothing to send any more
    (a withdrawn invitation), which is recorded like a send. `mark_sent` writes the app's record
    and must be safe to run twice. Raises SendInProgress while another worker holds the claim.
    """
    token = uuid.uuid4()
    with transaction.atomic():
        _claim(key, token)
        if is_sent():
            _release(key, token)
            return False
    try:
        message = build()
        if message is not None:
            message.send()
    except Exception:
        _release(key, token)
        raise
    with transaction.atomic():
        mark_sent()
        _release(key, token)
    return message is not None


def send_once_stamped(
    model: type[models.Model], pk: int, field: str, build: Callable[[], EmailMessage | None]
) -> bool:
    """`send_once` for a ledger row whose timestamp `field` records the send (None: unsent)."""
    row = model._default_manager.filter(pk=pk)
    unsent = {f"{field}__isnull": True}
    return send_once(
        f"{model._meta.label_lower}:{pk}:{field}",
        build,
        is_sent=lambda: row.exclude(**unsent).exists(),
        mark_sent=lambda: row.filter(**unsent).update(**{field: timezone.now()}),
    )


def _claim(key: str, token: uuid.UUID) -> None:
    """Take the claim on `key` for `token`, or raise SendInProgress."""
    now = timezone.now()
    try:
        with transaction.atomic():
            MailClaim.objects.create(key=key, token=token, claimed_at=now)
        return
    except IntegrityError:
        pass
    # Someone holds it. Take it over only if stale: the conditional update lets one taker win.
    stale = now - timedelta(seconds=settings.MAIL_CLAIM_TIMEOUT)
    taken = MailClaim.objects.filter(key=key, claimed_at__lt=stale).update(
        token=token, claimed_at=now
    )
    if not taken:
        raise SendInProgress(key)


def _release(key: str, token: uuid.UUID) -> None:
    # Only our own claim: a stale one taken over by another worker is theirs now.
    MailClaim.objects.filter(key=key, token=token).delete()
