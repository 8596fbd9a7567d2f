"""Fan-out: recipients → ledger rows → batches claimed and sent over one connection each."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import format_datetime, formataddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import EmailAlternative
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from membership.access import active_members
from portal.mail import render_email

from ..models import Delivery, InboundMessage, Message, Subscription, ThreadPreference
from ..smtp import ConnectionLost, Outbox, PermanentFailure, TemporaryFailure
from .common import bounce_address, site_url, unsubscribe_token
from .inbound import bounce_record
from .private_reply import private_reply_address

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser
    from django.db.models import QuerySet

log = logging.getLogger(__name__)

# Temporary failures are retried with exponential backoff (1 min, 2, 4 … capped at 6 h) for
# RETRY_FOR, then recorded as failed, like an MTA's queue lifetime.
RETRY_FOR = dt.timedelta(days=4)
RETRY_CAP = dt.timedelta(hours=6)
TOKEN_PLACEHOLDER = "GUILDHALL-UNSUBSCRIBE-TOKEN"  # noqa: S105 - a marker, not a secret


def recipients_for(message: Message) -> QuerySet[AbstractUser]:
    """Users who get this message by mail, as a queryset.

    Every-message subscribers, plus subscribers in any mode who follow the thread, minus
    those who muted it, those whose delivery is paused by bounces, and anyone who is not an
    active member right now (membership.access decides; a lapsed member's subscription is
    left untouched and works again when they rejoin).
    """
    subscriptions = Subscription.objects.filter(
        mailing_list_id=message.mailing_list_id, delivery_disabled_at__isnull=True
    )
    prefs = (
        ThreadPreference.objects.filter(thread_id=message.thread_id)
        if message.thread_id is not None
        else ThreadPreference.objects.none()
    )
    wanted = Q(mode=Subscription.Mode.EVERY) | Q(
        user_id__in=prefs.filter(state=ThreadPreference.State.FOLLOW).values("user_id")
    )
    user_ids = (
        subscriptions.filter(wanted)
        .exclude(user_id__in=prefs.filter(state=ThreadPreference.State.MUTE).values("user_id"))
        .values("user_id")
    )
    return active_members().filter(pk__in=user_ids).exclude(email="")


def message_fan_out(*, message_id: int) -> int:
    """Create one pending Delivery row per recipient and queue the send batches.

    Safe to run twice: rows are unique per (message, recipient), so a second run adds only
    recipients who were not there before. Returns the number of rows created.
    """
    from ..tasks import deliveries_send_batch  # cycle: tasks import services

    message = Message.objects.filter(pk=message_id).first()
    if message is None or message.status != Message.Status.PUBLISHED:
        return 0
    now = timezone.now()
    rows = [
        Delivery(message_id=message.pk, recipient_id=pk, email=email, next_attempt_at=now)
        for pk, email in recipients_for(message).values_list("pk", "email").iterator()
    ]
    with transaction.atomic():
        Delivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        pending = Delivery.objects.filter(message=message, status=Delivery.Status.PENDING).count()
        batches = math.ceil(pending / settings.DISCUSSIONS_BATCH_SIZE)
        transaction.on_commit(
            lambda: [deliveries_send_batch.delay(message.pk) for _ in range(batches)]
        )
    return len(rows)


@dataclass
class Prepared:
    """A list message rendered once; each recipient's copy differs only by its token."""

    message: Message
    data: bytes
    placeholders: int

    def for_recipient(self, *, user_pk: int) -> bytes:
        token = unsubscribe_token(list_pk=self.message.mailing_list_id, user_pk=user_pk)
        data = self.data.replace(TOKEN_PLACEHOLDER.encode(), token.encode())
        return data


def list_message_prepare(message: Message) -> Prepared:
    """Build the outgoing list message with every RFC 2369/2919/8058 header, rendered once.

    DMARC: the From is rewritten to "Name via List <list address>" because we cannot sign as
    the author's domain, and receivers enforcing p=reject would drop the post otherwise;
    Reply-To is the list, and the author's address stays visible in X-Original-From.
    """
    mailing_list = message.mailing_list
    unsubscribe_path = reverse("discussions:unsubscribe", kwargs={"token": TOKEN_PLACEHOLDER})
    archive_url = site_url(mailing_list.get_absolute_url())
    thread = message.thread
    thread_url = site_url(thread.get_absolute_url()) if thread is not None else archive_url
    subject = message.subject
    if mailing_list.subject_tag not in subject:
        subject = f"{mailing_list.subject_tag} {subject}"
    references = message.references
    headers = {
        "From": formataddr(
            (f"{message.display_name} via {mailing_list.name}", mailing_list.address)
        ),
        "To": mailing_list.address,
        "Reply-To": mailing_list.address,
        "X-Original-From": formataddr((message.display_name, message.from_email)),
        "Message-ID": message.list_message_id,
        "List-Id": f"{mailing_list.name} <{mailing_list.list_id}>",
        "List-Post": f"<mailto:{mailing_list.address}>",
        "List-Archive": f"<{archive_url}>",
        "List-Help": f"<{site_url(reverse('discussions:index'))}>",
        "List-Unsubscribe": f"<{site_url(unsubscribe_path)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "list",
        "X-Loop": mailing_list.address,
        "Date": _format_date(message.published_at or message.created_at),
    }
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if references:
        headers["References"] = references
    email = render_email(
        template="discussions/email/list_message",
        subject=subject,
        to=[mailing_list.address],
        from_email=headers["From"],
        context={
            "message": message,
            "mailing_list": mailing_list,
            "thread_url": thread_url,
            "unsubscribe_url": site_url(unsubscribe_path),
            # The same for every copy: it names the post, not the recipient.
            "private_reply_address": private_reply_address(message) if message.author_id else "",
            "manage_url": site_url(reverse("discussions:subscriptions")),
        },
        headers=headers,
    )
    data: bytes = email.message().as_bytes()  # the stubs type message() as Any
    expected = _placeholder_count(email)
    found = data.count(TOKEN_PLACEHOLDER.encode())
    if found != expected:
        # The body went out quoted-printable or base64 (very long lines), so the token cannot
        # be swapped in the bytes; fall back to rendering per recipient.
        return _PerRecipient(message=message, data=b"", placeholders=0, email=email)
    return Prepared(message=message, data=data, placeholders=found)


@dataclass
class _PerRecipient(Prepared):
    email: EmailMultiAlternatives

    def for_recipient(self, *, user_pk: int) -> bytes:
        token = unsubscribe_token(list_pk=self.message.mailing_list_id, user_pk=user_pk)
        email = self.email
        original = (email.body, email.alternatives, dict(email.extra_headers))
        email.body = str(email.body).replace(TOKEN_PLACEHOLDER, token)
        # render_email attaches text alternatives; anything else has no token to swap.
        email.alternatives = [
            EmailAlternative(
                content.replace(TOKEN_PLACEHOLDER, token) if isinstance(content, str) else content,
                mimetype,
            )
            for content, mimetype in email.alternatives
        ]
        email.extra_headers = {
            k: v.replace(TOKEN_PLACEHOLDER, token) for k, v in email.extra_headers.items()
        }
        try:
            data: bytes = email.message().as_bytes()  # the stubs type message() as Any
            return data
        finally:
            email.body, email.alternatives, email.extra_headers = original


def _placeholder_count(email: EmailMultiAlternatives) -> int:
    count = str(email.body).count(TOKEN_PLACEHOLDER)
    count += sum(
        content.count(TOKEN_PLACEHOLDER)
        for content, _mimetype in email.alternatives
        if isinstance(content, str)
    )
    count += sum(str(v).count(TOKEN_PLACEHOLDER) for v in email.extra_headers.values())
    return count


def _format_date(when: dt.datetime) -> str:
    return format_datetime(when.astimezone(dt.UTC))


def deliveries_claim(*, message_id: int, limit: int) -> list[Delivery]:
    """Claim up to `limit` due pending rows of a message for this worker, atomically.

    On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so concurrent workers
    take disjoint batches without waiting for each other. SQLite has no row locks, but its
    writers are serialised (IMMEDIATE transactions), and the UPDATE re-checks the status.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        due = Delivery.objects.filter(
            message_id=message_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now
        ).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.CLAIMED, claim_token=token, claimed_at=now
        )
    return list(Delivery.objects.filter(claim_token=token, status=Delivery.Status.CLAIMED))


def _backoff(attempts: int) -> dt.timedelta:
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), RETRY_CAP)


def deliveries_send_batch(*, message_id: int, limit: int | None = None) -> int:
    """Claim one batch, send each copy over one connection, and record each outcome.

    Returns how many were sent. Each row is marked sent in its own commit just before the
    server takes the message (see smtp.Outbox.send), so a worker killed at any point leaves
    every row either sent (and delivered) or claimed (and not delivered); the sweeper returns
    claimed rows to pending. 4xx answers schedule a retry with backoff; 5xx answers and
    retries past RETRY_FOR are recorded as failed and scored as bounces.
    """
    message = Message.objects.select_related("mailing_list", "thread").filter(pk=message_id).first()
    if message is None:
        return 0
    rows = deliveries_claim(message_id=message_id, limit=limit or settings.DISCUSSIONS_BATCH_SIZE)
    if not rows:
        return 0
    prepared = list_message_prepare(message)
    sent = 0
    remaining = list(rows)
    try:
        with _fast_commits(), Outbox() as outbox:
            while remaining:
                row = remaining[0]
                data = prepared.for_recipient(user_pk=row.recipient_id)
                try:
                    outbox.send(
                        envelope_from=bounce_address(message.mailing_list, row.email),
                        rcpt=row.email,
                        data=data,
                        commit=functools.partial(_mark_sent, row),
                    )
                    sent += 1
                except TemporaryFailure as exc:
                    _mark_retry(row, str(exc), message.published_at)
                except PermanentFailure as exc:
                    _mark_failed(row, str(exc))
                    bounce_record(
                        mailing_list=message.mailing_list,
                        email=row.email,
                        kind="policy" if " 5.7." in f" {exc}" else "hard",
                        status_code=str(exc.code),
                        detail=str(exc),
                    )
                remaining.pop(0)
    except ConnectionLost as exc:
        log.warning("SMTP connection lost after %s of %s: %s", sent, len(rows), exc)
        for row in remaining:
            # The row in flight may have been marked sent just before the break; it is
            # unknown whether the server kept it, and a duplicate beats a lost post.
            _mark_retry(row, f"connection lost: {exc}", message.published_at)
        raise
    return sent


def _mark_sent(row: Delivery) -> None:
    """Mark one row sent in its own commit: the one write per recipient, kept lean (raw SQL,
    autocommit) because it sits between the message body and the final "."."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, "  # noqa: S608
            "attempts = attempts + 1 WHERE id = %s AND claim_token = %s",
            [Delivery.Status.SENT, timezone.now(), row.pk, row.claim_token],
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


def _mark_retry(row: Delivery, error: str, first_try_at: dt.datetime | None = None) -> None:
    attempts = row.attempts + 1
    now = timezone.now()
    if first_try_at and now - first_try_at > RETRY_FOR:
        _mark_failed(row, f"gave up after {attempts} attempts: {error}")
        return
    Delivery.objects.filter(pk=row.pk).update(
        status=Delivery.Status.PENDING,
        attempts=attempts,
        next_attempt_at=now + _backoff(attempts),
        last_error=error[:500],
        claim_token="",
    )


def _mark_failed(row: Delivery, error: str) -> None:
    Delivery.objects.filter(pk=row.pk).update(
        status=Delivery.Status.FAILED, attempts=row.attempts + 1, last_error=error[:500]
    )


def deliveries_sweep(*, claim_timeout: int | None = None) -> dict[str, int]:
    """Return stale claims to pending and queue batches for messages with due rows.

    A claim older than `claim_timeout` seconds (DISCUSSIONS_CLAIM_TIMEOUT) belongs to a worker
    that died mid-batch; none of its claimed rows were delivered (rows are marked sent before
    delivery completes), so handing them out again sends nobody a second copy. Also re-queues
    inbound mail that was stored while the broker was unreachable.
    """
    from ..tasks import deliveries_send_batch, inbound_ingest  # cycle: tasks import services

    timeout = settings.DISCUSSIONS_CLAIM_TIMEOUT if claim_timeout is None else claim_timeout
    now = timezone.now()
    returned = Delivery.objects.filter(
        status=Delivery.Status.CLAIMED, claimed_at__lt=now - dt.timedelta(seconds=timeout)
    ).update(status=Delivery.Status.PENDING, claim_token="", next_attempt_at=now)
    due: dict[int, int] = {}
    for message_id in (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .values_list("message_id", flat=True)
        .distinct()
    ):
        count = Delivery.objects.filter(
            message_id=message_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now
        ).count()
        due[message_id] = min(math.ceil(count / settings.DISCUSSIONS_BATCH_SIZE), 20)
    for message_id, batches in due.items():
        for _ in range(batches):
            deliveries_send_batch.delay(message_id)
    stale_inbound = list(
        InboundMessage.objects.filter(
            status=InboundMessage.Status.RECEIVED,
            received_at__lt=now - dt.timedelta(minutes=5),
        ).values_list("pk", flat=True)[:500]
    )
    for pk in stale_inbound:
        inbound_ingest.delay(pk)
    return {"returned": returned, "batches": sum(due.values()), "inbound": len(stale_inbound)}
