"""Moderators approve, reject or ban; every decision is recorded on the message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from ..models import BannedSender, InboundMessage, MailingList, Message
from .posting import message_publish

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def message_approve(*, message: Message, moderator: User) -> Message:
    """Release a held message: it is threaded and fanned out. Idempotent."""
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status != Message.Status.HELD:
            return message
        message.moderated_by = moderator
        message.moderated_at = timezone.now()
        message.save(update_fields=["moderated_by", "moderated_at"])
        message_publish(message=message)
        if message.inbound_id:
            InboundMessage.objects.filter(pk=message.inbound_id).update(
                status=InboundMessage.Status.POSTED
            )
    return message


def message_reject(*, message: Message, moderator: User, note: str = "") -> Message:
    """Refuse a held message and tell the sender, with the moderator's note."""
    from ..tasks import send_rejection_notice  # cycle: tasks import services

    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status != Message.Status.HELD:
            return message
        message.status = Message.Status.REJECTED
        message.moderated_by = moderator
        message.moderated_at = timezone.now()
        message.moderation_note = note
        message.save()
        if message.inbound_id:
            InboundMessage.objects.filter(pk=message.inbound_id).update(
                status=InboundMessage.Status.REJECTED
            )
        transaction.on_commit(lambda: send_rejection_notice.delay(message.pk))
    return message


def sender_ban(*, mailing_list: MailingList, email: str, moderator: User, note: str = "") -> int:
    """Ban an address from a list and reject everything it has waiting. Returns how many
    held messages were rejected."""
    with transaction.atomic():
        BannedSender.objects.get_or_create(
            mailing_list=mailing_list, email=email.lower(), defaults={"note": note[:300]}
        )
        held = Message.objects.filter(
            mailing_list=mailing_list, from_email__iexact=email, status=Message.Status.HELD
        )
        count = 0
        for message in held:
            message_reject(message=message, moderator=moderator, note=note or "Sender banned")
            count += 1
    return count
