"""Celery tasks: thin wrappers that take primary keys and call a service.

Each is safe to run twice (acks_late redelivers after a crash): ingest checks the inbound
row's status, fan-out relies on the unique ledger, a batch claims only pending rows, and the
notices check their *_notified_at ledger fields.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import services
from .models import Digest, InboundMessage, Message
from .smtp import ConnectionLost

log = logging.getLogger(__name__)

_RETRY = {
    "autoretry_for": (ConnectionLost, smtplib.SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "max_retries": 12,
    "acks_late": True,
}


@shared_task(acks_late=True)
def ingest(inbound_id: int) -> None:
    services.inbound_ingest(inbound_id=inbound_id)


@shared_task(acks_late=True)
def fan_out(message_id: int) -> None:
    services.message_fan_out(message_id=message_id)


@shared_task(**_RETRY)
def send_batch(message_id: int) -> int:
    return services.deliveries_send_batch(message_id=message_id)


@shared_task(acks_late=True)
def mail_sweep_deliveries() -> dict:
    return services.deliveries_sweep()


@shared_task(acks_late=True)
def mail_digests(frequency: str) -> int:
    ids = services.digests_prepare(frequency=frequency)
    for digest_id in ids:
        send_digest.delay(digest_id)
    return len(ids)


@shared_task(**_RETRY)
def send_digest(digest_id: int) -> None:
    with transaction.atomic():
        digest = (
            Digest.objects.select_for_update()
            .select_related("subscription__mailing_list", "subscription__user")
            .get(pk=digest_id)
        )
        if digest.sent_at:
            return
        services.digest_build(digest=digest).send()
        digest.sent_at = timezone.now()
        digest.save(update_fields=["sent_at"])


def _notify_once(model, pk: int, field: str, build) -> None:
    with transaction.atomic():
        obj = model.objects.select_for_update().get(pk=pk)
        if getattr(obj, field):
            return
        email = build(obj)
        if email is not None:
            email.send()
        setattr(obj, field, timezone.now())
        obj.save(update_fields=[field])


@shared_task(**_RETRY)
def send_confirmation(message_id: int) -> None:
    from .notices import confirmation_notice

    _notify_once(Message, message_id, "confirm_notified_at", confirmation_notice)


@shared_task(**_RETRY)
def send_hold_notice(message_id: int) -> None:
    from .notices import hold_notice

    _notify_once(Message, message_id, "hold_notified_at", hold_notice)


@shared_task(**_RETRY)
def send_moderator_notice(message_id: int) -> None:
    from .notices import moderator_notice

    _notify_once(Message, message_id, "moderators_notified_at", moderator_notice)


@shared_task(**_RETRY)
def send_rejection_notice(message_id: int) -> None:
    from .notices import rejection_notice

    _notify_once(Message, message_id, "reject_notified_at", rejection_notice)


@shared_task(**_RETRY)
def send_failure_notice(inbound_id: int) -> None:
    from .notices import failure_notice

    _notify_once(InboundMessage, inbound_id, "sender_notified_at", failure_notice)
