"""Celery tasks: thin wrappers that take primary keys and call the service they are named after.

Each is safe to run twice (acks_late redelivers after a crash): ingest checks the inbound
row's status, fan-out relies on the unique ledger, a batch claims only pending rows, and the
digests and notices go through portal.sendonce against their sent-time ledger fields.
"""

from __future__ import annotations

import logging

from celery import shared_task

from portal.retry import SMTP_RETRY
from portal.sendonce import send_once_stamped

from . import notices, services
from .models import Digest, InboundMessage, Invitation, JoinRequest, Message, PrivateReply

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def inbound_ingest(inbound_id: int) -> None:
    services.inbound_ingest(inbound_id=inbound_id)


@shared_task(acks_late=True)
def message_fan_out(message_id: int) -> None:
    services.message_fan_out(message_id=message_id)


@shared_task(acks_late=True)
def fan_out(message_id: int) -> None:
    """Old name of message_fan_out, kept for messages queued before the rename: nothing else
    would fan a published post out again. Remove once no broker can hold one."""
    services.message_fan_out(message_id=message_id)


@shared_task(**SMTP_RETRY)
def deliveries_send_batch(message_id: int) -> int:
    return services.deliveries_send_batch(message_id=message_id)


@shared_task(acks_late=True)
def deliveries_sweep() -> dict:
    return services.deliveries_sweep()


@shared_task(acks_late=True)
def digests_prepare(frequency: str) -> int:
    ids = services.digests_prepare(frequency=frequency)
    for digest_id in ids:
        send_digest.delay(digest_id)
    return len(ids)


@shared_task(**SMTP_RETRY)
def send_digest(digest_id: int) -> bool:
    return send_once_stamped(
        Digest,
        digest_id,
        "sent_at",
        lambda: services.digest_build(
            digest=Digest.objects.select_related(
                "subscription__mailing_list", "subscription__user"
            ).get(pk=digest_id)
        ),
    )


def _notify_once(model, pk: int, field: str, build) -> bool:
    """Send the notice `build(row)` makes (None: nothing to send) once per row and field."""
    return send_once_stamped(model, pk, field, lambda: build(model.objects.get(pk=pk)))


@shared_task(**SMTP_RETRY)
def send_confirmation(message_id: int) -> bool:
    return _notify_once(Message, message_id, "confirm_notified_at", notices.confirmation_notice)


@shared_task(**SMTP_RETRY)
def send_hold_notice(message_id: int) -> bool:
    return _notify_once(Message, message_id, "hold_notified_at", notices.hold_notice)


@shared_task(**SMTP_RETRY)
def send_moderator_notice(message_id: int) -> bool:
    return _notify_once(Message, message_id, "moderators_notified_at", notices.moderator_notice)


@shared_task(**SMTP_RETRY)
def send_rejection_notice(message_id: int) -> bool:
    return _notify_once(Message, message_id, "reject_notified_at", notices.rejection_notice)


@shared_task(**SMTP_RETRY)
def send_failure_notice(inbound_id: int) -> bool:
    return _notify_once(InboundMessage, inbound_id, "sender_notified_at", notices.failure_notice)


@shared_task(**SMTP_RETRY)
def send_join_request_notice(request_id: int) -> bool:
    return _notify_once(
        JoinRequest, request_id, "moderators_notified_at", notices.join_request_notice
    )


@shared_task(**SMTP_RETRY)
def send_join_decision(request_id: int) -> bool:
    return _notify_once(
        JoinRequest, request_id, "requester_notified_at", notices.join_decision_notice
    )


@shared_task(**SMTP_RETRY)
def send_invitation(invitation_id: int) -> bool:
    return _notify_once(Invitation, invitation_id, "sent_at", notices.invitation_notice)


@shared_task(**SMTP_RETRY)
def send_private_reply(reply_id: int) -> bool:
    return _notify_once(PrivateReply, reply_id, "sent_at", notices.private_reply_mail)
