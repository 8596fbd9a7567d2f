"""Fan-out: recipients → ledger rows → batches claimed and sent over one connection each."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from email.utils import format_datetime, formataddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import EmailAlternative
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from membership.access import active_members
from portal.mail import render_email

from ..models import Delivery, InboundMessage, Message, Subscription, ThreadPreference
from ..smtp import PermanentFailure
from .common import bounce_address, site_url, unsubscribe_token
from .inbound import bounce_record
from .ledger import Ledger, ledger_claim, ledger_due, ledger_return_stale, ledger_send
from .private_reply import private_reply_address

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser
    from django.db.models import QuerySet

log = logging.getLogger(__name__)

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
    Reply-To is the list. The author's address appears nowhere in a copy: readers reach the
    author through the private reply address in the footer, which the listener relays.
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


DELIVERIES = Ledger(Delivery, "message_id")


def deliveries_claim(*, message_id: int, limit: int) -> list[Delivery]:
    """Claim up to `limit` due pending rows of a message for this worker (ledger_claim)."""
    return ledger_claim(DELIVERIES, parent_id=message_id, limit=limit)


def deliveries_send_batch(*, message_id: int, limit: int | None = None) -> int:
    """Claim one batch, send each copy over one connection, and record each outcome.

    Returns how many were sent. See services.ledger for why a worker killed at any point
    leaves every recipient exactly one copy. 5xx answers are scored as bounces.
    """
    message = Message.objects.select_related("mailing_list", "thread").filter(pk=message_id).first()
    if message is None:
        return 0
    rows = deliveries_claim(message_id=message_id, limit=limit or settings.DISCUSSIONS_BATCH_SIZE)
    if not rows:
        return 0
    prepared = list_message_prepare(message)

    def copy(row: Delivery) -> tuple[str, bytes]:
        return (
            bounce_address(message.mailing_list, row.email),
            prepared.for_recipient(user_pk=row.recipient_id),
        )

    def bounced(row: Delivery, exc: PermanentFailure) -> None:
        bounce_record(
            mailing_list=message.mailing_list,
            email=row.email,
            kind="policy" if " 5.7." in f" {exc}" else "hard",
            status_code=str(exc.code),
            detail=str(exc),
        )

    return ledger_send(
        DELIVERIES, rows, copy=copy, first_try_at=message.published_at, on_permanent=bounced
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
    returned = ledger_return_stale(DELIVERIES, timeout=timeout)
    due = {
        message_id: min(math.ceil(count / settings.DISCUSSIONS_BATCH_SIZE), 20)
        for message_id, count in ledger_due(DELIVERIES).items()
    }
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
