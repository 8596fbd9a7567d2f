"""Turning a post (from mail or the web) into an archived message, held or published."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from membership.access import is_active_member

from .. import mailparse
from ..models import BannedSender, InboundMessage, MailingList, Message, Thread, ThreadPreference
from ..phi import phi_scan, phi_scan_parts, phi_summary
from .common import may_post, new_message_id

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

# A reply whose client dropped In-Reply-To joins a thread with the same subject this recent.
SUBJECT_FALLBACK_WINDOW = dt.timedelta(days=30)


def hold_reasons(
    *,
    user: User | None,
    mailing_list: MailingList,
    subject: str,
    text: str,
    in_reply_to: str = "",
    html: str = "",
    attachments: Iterable[tuple[str, str, bytes]] = (),
) -> list[str]:
    """Why a post must wait for a moderator; empty when it may go out at once.

    The same checks apply to mail and web posts: who may post, a new member's first post,
    replies to a digest (which would otherwise start junk threads), and the privacy guard,
    which reads the text, the HTML part (a text part may be only "view this in HTML") and
    the (filename, content type, bytes) of each attachment kept.
    """
    reasons = []
    refusal = may_post(user, mailing_list)
    if refusal or user is None:
        reasons.append(refusal or "Sender is not an active member")
    elif (
        mailing_list.moderate_first_posts
        and not Message.objects.filter(
            mailing_list=mailing_list, author=user, status=Message.Status.PUBLISHED
        ).exists()
    ):
        reasons.append("First post to this list")
    if in_reply_to.startswith("<digest."):
        reasons.append("Reply to a digest: please reply to the message itself")
    findings = phi_scan(f"{subject}\n{text}")
    if findings:
        reasons.append(phi_summary(findings))
    reasons.extend(
        phi_scan_parts(
            html_text=mailparse.html_to_text(html) if html else "", attachments=attachments
        )
    )
    return reasons


def find_parent(
    *, mailing_list: MailingList, in_reply_to: str, references: list[str], subject: str
) -> Message | None:
    """The message this one answers: In-Reply-To, then References (newest first), then subject.

    Ids are looked up both as the sender's original Message-ID and as ours, since replies
    carry whichever the replier's copy had. The subject fallback only applies to subjects that
    say they are replies, within SUBJECT_FALLBACK_WINDOW, so a new "Staffing" post does not
    land in last year's "Staffing" thread.
    """
    candidates = ([in_reply_to] if in_reply_to else []) + list(reversed(references))
    for mid in candidates:
        if mid.startswith("<digest."):
            continue
        parent = (
            Message.objects.filter(mailing_list=mailing_list, thread__isnull=False)
            .filter(list_message_id=mid)
            .first()
        ) or (
            Message.objects.filter(
                mailing_list=mailing_list, thread__isnull=False, message_id=mid
            ).first()
        )
        if parent:
            return parent
    if mailparse.is_reply_subject(subject):
        normalized = mailparse.normalize_subject(subject)
        thread = (
            Thread.objects.filter(
                mailing_list=mailing_list,
                normalized_subject=normalized,
                last_activity_at__gte=timezone.now() - SUBJECT_FALLBACK_WINDOW,
            )
            .order_by("-last_activity_at")
            .first()
        )
        if thread:
            return thread.messages.filter(status=Message.Status.PUBLISHED).last()
    return None


def message_publish(*, message: Message) -> Message:
    """Thread a message, mark it published and queue its fan-out once the transaction commits.

    Safe to call on an already published message (returns it unchanged).
    """
    from ..tasks import message_fan_out  # cycle: tasks import services

    if message.status == Message.Status.PUBLISHED and message.thread_id:
        return message
    now = timezone.now()
    with transaction.atomic():
        parent = message.parent or find_parent(
            mailing_list=message.mailing_list,
            in_reply_to=message.in_reply_to,
            references=mailparse.message_ids(message.references),
            subject=message.subject,
        )
        if parent is not None:
            message.parent = parent
            thread = _lock_thread_of(parent)
        else:
            thread = Thread.objects.create(
                mailing_list=message.mailing_list,
                subject=mailparse.clean_subject(message.subject),
                normalized_subject=mailparse.normalize_subject(message.subject),
                started_by=message.author,
                created_at=now,
                last_activity_at=now,
            )
        message.thread = thread
        message.status = Message.Status.PUBLISHED
        message.published_at = now
        message.save()
        Thread.objects.filter(pk=thread.pk).update(
            message_count=F("message_count") + 1, last_activity_at=now
        )
        _adopt_orphans(message)
        transaction.on_commit(lambda: message_fan_out.delay(message.pk))
    return message


def _lock_thread_of(parent: Message) -> Thread:
    """The parent's thread, row-locked. Another transaction adopting the parent's thread into
    an older one may have moved it meanwhile: then read where the parent lives now."""
    for _attempt in range(5):
        if parent.thread_id is None:
            # Only a published (threaded) message can be answered; say so rather than
            # retrying a lookup of thread None five times and blaming "keeps moving".
            raise Thread.DoesNotExist(f"message #{parent.pk} is in no thread")
        thread = Thread.objects.select_for_update().filter(pk=parent.thread_id).first()
        if thread is not None:
            return thread
        parent.refresh_from_db(fields=["thread"])
    raise Thread.DoesNotExist(f"thread of message #{parent.pk} keeps moving")


def _adopt_orphans(parent: Message) -> None:
    """Replies that arrived before this message (mail is not delivered in order) started
    threads of their own; move each such thread under this message, where it belongs."""
    ids = [mid for mid in (parent.message_id, parent.list_message_id) if mid]
    thread_id = parent.thread_id
    if not ids or thread_id is None:
        return
    answers = Q(in_reply_to__in=ids)
    for mid in ids:
        answers |= Q(references__contains=mid)
    orphans = (
        Message.objects.filter(
            mailing_list=parent.mailing_list,
            status=Message.Status.PUBLISHED,
            parent__isnull=True,
            thread__isnull=False,
        )
        .exclude(pk=parent.pk)
        .exclude(thread_id=thread_id)
        .filter(answers)
    )
    for orphan in orphans:
        # Only ids the orphan names count: "references__contains" also matches longer ids.
        if not set(ids) & {orphan.in_reply_to, *mailparse.message_ids(orphan.references)}:
            continue
        old_thread_id = orphan.thread_id
        if old_thread_id is None:  # excluded by the query; narrows the type
            continue
        # Locked, so a reply joining that thread right now waits and then follows it here.
        if not Thread.objects.select_for_update().filter(pk=old_thread_id).exists():
            continue
        moved = Message.objects.filter(thread_id=old_thread_id).update(thread=parent.thread)
        Message.objects.filter(pk=orphan.pk).update(parent=parent)
        for pref in ThreadPreference.objects.filter(thread_id=old_thread_id):
            if not ThreadPreference.objects.filter(
                user_id=pref.user_id, thread_id=thread_id
            ).exists():
                ThreadPreference.objects.filter(pk=pref.pk).update(thread=parent.thread)
        Thread.objects.filter(pk=thread_id).update(message_count=F("message_count") + moved)
        Thread.objects.filter(pk=old_thread_id).delete()
        log.info("Thread #%s adopted by message #%s", old_thread_id, parent.pk)


def message_create(
    *,
    mailing_list: MailingList,
    user: User | None,
    from_name: str,
    from_email: str,
    subject: str,
    text: str,
    html: str = "",
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    source: str = Message.Source.EMAIL,
    inbound: InboundMessage | None = None,
    parent: Message | None = None,
    extra_hold_reasons: list[str] | None = None,
    sender_verified: bool = False,
    sender_check: str = "",
    attachments: Iterable[tuple[str, str, bytes]] = (),
) -> Message:
    """Store a post and either publish it or hold it with the reasons; tell a held sender why.

    A post whose sender is not verified (`sender_verified`) never goes out on the strength of
    its From line: a member's post waits for the member to confirm it from their own mailbox
    (the other checks run once they have); anyone else's waits for a moderator, and no notice
    goes to an address nobody proved, so forged mail makes no backscatter. `attachments`
    are the (filename, content type, bytes) the caller will store with it, for the privacy
    guard to read.
    """
    from ..tasks import send_confirmation  # cycle: tasks import services

    clean = mailparse.storable
    from_name, from_email, subject = clean(from_name), clean(from_email), clean(subject)
    text, html, message_id = clean(text), clean(html), clean(message_id)
    in_reply_to, references = clean(in_reply_to), clean(references)
    awaiting_confirmation = not sender_verified and user is not None
    if awaiting_confirmation:
        reasons = [UNVERIFIED_MEMBER]
    else:
        reasons = (extra_hold_reasons or []) + hold_reasons(
            user=user,
            mailing_list=mailing_list,
            subject=subject,
            text=text,
            in_reply_to=in_reply_to,
            html=html,
            attachments=attachments,
        )
        if not sender_verified:
            reasons.insert(0, UNVERIFIED_SENDER)
    with transaction.atomic():
        message = Message.objects.create(
            mailing_list=mailing_list,
            author=user,
            from_name=from_name,
            from_email=from_email,
            subject=subject[:300] or "(no subject)",
            message_id=message_id[:500],
            list_message_id=new_message_id(),
            in_reply_to=in_reply_to[:500],
            references=references,
            body_text=text,
            body_html=html,
            source=source,
            inbound=inbound,
            parent=parent,
            # Held until message_publish threads it, in this same transaction, if nothing is wrong.
            status=Message.Status.HELD,
            hold_reason="; ".join(reasons)[:300],
            sender_verified=sender_verified,
            sender_check=sender_check[:200],
        )
        if awaiting_confirmation:
            transaction.on_commit(lambda: send_confirmation.delay(message.pk))
        elif reasons:
            _notify_held(message)
        else:
            message_publish(message=message)
    return message


UNVERIFIED_MEMBER = "Sender not verified: waiting for the member to confirm by email"
UNVERIFIED_SENDER = "Sender not verified"
# How long the emailed "Publish" / "I didn't send this" link works.
CONFIRMATION_MAX_AGE = dt.timedelta(days=7)


def _notify_held(message: Message) -> None:
    from ..tasks import send_hold_notice, send_moderator_notice  # cycle: tasks import services

    if message.sender_verified:
        transaction.on_commit(lambda: send_hold_notice.delay(message.pk))
    transaction.on_commit(lambda: send_moderator_notice.delay(message.pk))


def message_confirm(*, message: Message, publish: bool) -> Message:
    """The member answered the confirmation mail for a post sent in their name.

    "Publish" marks the sender verified and sends the post down the normal path: published
    at once, or still held (and moderators told) if another check holds it. "I didn't send
    this" rejects it, logged, with no mail to anyone. Acts once: a second click, or a click
    after a moderator decided, changes nothing. Returns the message as it now is.
    """
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status != Message.Status.HELD or message.sender_verified:
            return message
        now = timezone.now()
        if not publish:
            message.status = Message.Status.REJECTED
            message.moderated_at = now
            message.moderation_note = "The member said they did not send this."
            message.save(update_fields=["status", "moderated_at", "moderation_note"])
            if message.inbound_id:
                InboundMessage.objects.filter(pk=message.inbound_id).update(
                    status=InboundMessage.Status.REJECTED
                )
            log.warning(
                "Post #%s to %s in the name of %s discarded: the member did not send it",
                message.pk,
                message.mailing_list.slug,
                message.from_email,
            )
            return message
        message.sender_verified = True
        message.sender_check = f"confirmed by the member at {now:%Y-%m-%d %H:%M %Z}"
        reasons = hold_reasons(
            user=message.author,
            mailing_list=message.mailing_list,
            subject=message.subject,
            text=message.body_text,
            in_reply_to=message.in_reply_to,
            html=message.body_html,
            attachments=_stored_attachments(message),
        )
        if not message.body_text.strip() and not message.attachments.exists():
            reasons.insert(0, "Empty message")
        message.hold_reason = "; ".join(reasons)[:300]
        message.save(update_fields=["sender_verified", "sender_check", "hold_reason"])
        if reasons:
            _notify_held(message)
        else:
            message_publish(message=message)
            if message.inbound_id:
                InboundMessage.objects.filter(pk=message.inbound_id).update(
                    status=InboundMessage.Status.POSTED
                )
    return message


def _stored_attachments(message: Message) -> list[tuple[str, str, bytes]]:
    files = []
    for item in message.attachments.all():
        with item.file.open("rb") as handle:
            files.append((item.filename, item.content_type, handle.read()))
    return files


def message_post_web(
    *,
    user: User,
    mailing_list: MailingList,
    subject: str,
    text: str,
    parent: Message | None = None,
) -> Message:
    """A post written on the site: same checks and delivery as mail. Raises PermissionDenied
    for non-members and banned addresses."""
    if not is_active_member(user):
        raise PermissionDenied("Only active members may post.")
    if BannedSender.objects.filter(mailing_list=mailing_list, email__iexact=user.email).exists():
        raise PermissionDenied("You may not post to this list.")
    if parent is not None:
        subject = subject or f"Re: {parent.thread.subject if parent.thread else parent.subject}"
        references = " ".join([*mailparse.message_ids(parent.references), parent.list_message_id])
        in_reply_to = parent.list_message_id
    else:
        references = in_reply_to = ""
    name = user.get_full_name() or user.email.split("@")[0]
    return message_create(
        mailing_list=mailing_list,
        user=user,
        from_name=name,
        from_email=user.email,
        subject=subject,
        text=text,
        in_reply_to=in_reply_to,
        references=references,
        source=Message.Source.WEB,
        parent=parent,
        sender_verified=True,
        sender_check="signed in on the site",
    )


def attachment_allowed(filename: str, content_type: str, size: int) -> bool:
    return (
        content_type.lower() in ALLOWED_ATTACHMENT_TYPES
        and 0 < size <= settings.DISCUSSIONS_MAX_ATTACHMENT_BYTES
    )


ALLOWED_ATTACHMENT_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/csv",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/msword",
    "application/vnd.ms-excel",
}
