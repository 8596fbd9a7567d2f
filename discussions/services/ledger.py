"""The send ledger that list copies and announcements share: one row per copy, claimed in
batches, sent over one connection, each outcome recorded.

A ledger model has `email`, `status` (a `Status` with PENDING, CLAIMED, SENT, FAILED),
`claim_token`, `claimed_at`, `next_attempt_at`, `attempts`, `sent_at` and `last_error`, and a
foreign key to what is being sent (`Delivery.message`, `AnnouncementDelivery.announcement`);
`Ledger` names the two. Exactly once: a row is marked sent in its own commit just before the
server takes the copy (see smtp.Outbox.send), so a worker killed at any point leaves every row
either sent (and delivered) or claimed (and not delivered), and `ledger_return_stale` hands
claimed rows of a dead worker out again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from ..smtp import ConnectionLost, Outbox, PermanentFailure

log = logging.getLogger(__name__)

# Temporary failures are retried with exponential backoff (1 min, 2, 4 … capped at 6 h) for
# RETRY_FOR, then recorded as failed, like an MTA's queue lifetime.
RETRY_FOR = dt.timedelta(days=4)
RETRY_CAP = dt.timedelta(hours=6)


@dataclass(frozen=True)
class Ledger:
    model: type[models.Model]
    parent: str  # the foreign key's column name, e.g. "message_id"

    @property
    def status(self) -> Any:
        return self.model.Status  # type: ignore[attr-defined]

    def rows(self) -> models.QuerySet[Any]:
        return self.model._default_manager.all()


def ledger_claim(ledger: Ledger, *, parent_id: int, limit: int) -> list[Any]:
    """Claim up to `limit` due pending rows of one parent for this worker, atomically.

    On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so concurrent workers
    take disjoint batches without waiting for each other. SQLite has no row locks, but its
    writers are serialised (IMMEDIATE transactions), and the UPDATE re-checks the status.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    status = ledger.status
    with transaction.atomic():
        due = (
            ledger.rows()
            .filter(**{ledger.parent: parent_id}, status=status.PENDING, next_attempt_at__lte=now)
            .order_by("pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        ledger.rows().filter(pk__in=ids, status=status.PENDING).update(
            status=status.CLAIMED, claim_token=token, claimed_at=now
        )
    return list(ledger.rows().filter(claim_token=token, status=status.CLAIMED).order_by("pk"))


def ledger_send(
    ledger: Ledger,
    rows: list[Any],
    *,
    copy: Callable[[Any], tuple[str, bytes]],
    first_try_at: dt.datetime | None,
    on_permanent: Callable[[Any, PermanentFailure], None] | None = None,
) -> int:
    """Send each claimed row's copy (`copy(row)` gives the envelope sender and the bytes) and
    record each outcome. Returns how many were sent.

    Copies go out in groups of DISCUSSIONS_SMTP_CONNECTIONS, one connection each, kept for
    the batch (smtp.Outbox.send_group); one UPDATE marks a group sent just before its final
    dots. 4xx answers schedule a retry with backoff; 5xx answers and retries past RETRY_FOR
    are recorded as failed, and `on_permanent` hears of the 5xx (bounce scoring).
    """
    sent = 0
    remaining = list(rows)
    width = max(1, int(getattr(settings, "DISCUSSIONS_SMTP_CONNECTIONS", 1)))
    try:
        with _fast_commits(), Outbox() as outbox:
            while remaining:
                group = remaining[:width]
                items = []
                for row in group:
                    envelope_from, data = copy(row)
                    items.append((envelope_from, str(row.email), data))

                def commit(indexes: list[int], group: list[Any] = group) -> None:
                    _mark_sent(ledger, [group[i] for i in indexes])

                outcome = outbox.send_group(items, commit=commit)
                for row, result in zip(group, outcome, strict=True):
                    if result is None:
                        sent += 1
                    elif isinstance(result, PermanentFailure):
                        _mark_failed(ledger, row, str(result))
                        if on_permanent is not None:
                            on_permanent(row, result)
                    else:
                        _mark_retry(ledger, row, str(result), first_try_at)
                del remaining[: len(group)]
    except ConnectionLost as exc:
        log.warning("SMTP connection lost after %s of %s: %s", sent, len(rows), exc)
        for row in remaining:
            # The group in flight may have been marked sent just before the break; it is
            # unknown whether the server kept each copy, and a duplicate beats a lost one.
            _mark_retry(ledger, row, f"connection lost: {exc}", first_try_at)
        raise
    return sent


def _mark_sent(ledger: Ledger, rows: list[Any]) -> None:
    """Mark a group sent in one commit: the one write per group, between the bodies and the
    final dots, so it is one statement (autocommit) on the claim the rows carry."""
    if not rows:
        return
    ledger.rows().filter(pk__in=[r.pk for r in rows], claim_token=rows[0].claim_token).update(
        status=ledger.status.SENT, sent_at=timezone.now(), attempts=models.F("attempts") + 1
    )


@contextlib.contextmanager
def _fast_commits() -> Iterator[None]:
    """On PostgreSQL, commit without waiting for the WAL flush while a batch is sent.

    Each recipient's mark is its own commit; waiting for fsync on each costs milliseconds.
    An asynchronous commit is visible to every other session at once, which is all that a
    worker crash needs; only a crash of PostgreSQL itself within ~0.2 s could forget the last
    marks, and those copies would be sent again.
    https://www.postgresql.org/docs/current/wal-async-commit.html
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _backoff(attempts: int) -> dt.timedelta:
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), RETRY_CAP)


def _mark_retry(
    ledger: Ledger, row: Any, error: str, first_try_at: dt.datetime | None = None
) -> None:
    attempts = row.attempts + 1
    now = timezone.now()
    if first_try_at and now - first_try_at > RETRY_FOR:
        _mark_failed(ledger, row, f"gave up after {attempts} attempts: {error}")
        return
    ledger.rows().filter(pk=row.pk).update(
        status=ledger.status.PENDING,
        attempts=attempts,
        next_attempt_at=now + _backoff(attempts),
        last_error=error[:500],
        claim_token="",
    )


def _mark_failed(ledger: Ledger, row: Any, error: str) -> None:
    ledger.rows().filter(pk=row.pk).update(
        status=ledger.status.FAILED, attempts=row.attempts + 1, last_error=error[:500]
    )


def ledger_return_stale(ledger: Ledger, *, timeout: int) -> int:
    """Return claims older than `timeout` seconds (a worker that died mid-batch) to pending.
    None of their rows were delivered (rows are marked sent before delivery completes), so
    handing them out again sends nobody a second copy."""
    now = timezone.now()
    status = ledger.status
    return int(
        ledger.rows()
        .filter(status=status.CLAIMED, claimed_at__lt=now - dt.timedelta(seconds=timeout))
        .update(status=status.PENDING, claim_token="", next_attempt_at=now)
    )


def ledger_due(ledger: Ledger) -> dict[int, int]:
    """Pending rows whose time has come, counted per parent."""
    status = ledger.status
    counts = (
        ledger.rows()
        .filter(status=status.PENDING, next_attempt_at__lte=timezone.now())
        .values(ledger.parent)
        .annotate(n=models.Count("pk"))
    )
    return {int(c[ledger.parent]): int(c["n"]) for c in counts}
