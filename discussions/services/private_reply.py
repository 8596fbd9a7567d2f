"""Replying to a post's author alone, despite the DMARC From rewrite.

A list copy's From is the list (we cannot sign as the author's domain), so "reply" reaches
everyone. Each copy's footer therefore carries a private reply address for its author,
`<slug>+reply-<pk>-<day>-<hmac>@LIST_DOMAIN`: the post's pk, the last day it works (days
since 1970), and a keyed hash over both and the list, in hex because mail systems may change
the case of a local part. Mail to it is relayed to the author's verified address, which the
sender never sees; it passes the same checks as a post (a proven sender who may read the
list, not banned, no patient data, the size limit, attachment types), and anything that fails
them is refused while the sending server is still connected (SMTP 550 with the reason), so
it reaches no one and the bounce goes to whoever really sent it. The archive offers the same
relay as a form ("Reply to author").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import Message as PyMessage
from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from .. import mailauth, mailparse
from ..models import BannedSender, InboundMessage, MailingList, Message, PrivateReply
from ..phi import phi_scan, phi_scan_parts, phi_summary
from .common import can_read
from .posting import attachment_allowed

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REPLY_SALT = "discussions.private-reply"
# How long a post's private reply address works after the post went out.
PRIVATE_REPLY_DAYS = 90
_EPOCH = dt.date(1970, 1, 1)


def _reply_hash(slug: str, pk: int, day: int) -> str:
    return salted_hmac(REPLY_SALT, f"{slug.lower()}:{pk}:{day}").hexdigest()[:20]


def private_reply_address(message: Message) -> str:
    """The address that reaches `message`'s author alone, until PRIVATE_REPLY_DAYS after it
    was published."""
    sent = timezone.localdate(message.published_at or message.created_at)
    day = (sent - _EPOCH).days + PRIVATE_REPLY_DAYS
    slug = message.mailing_list.slug
    token = f"{message.pk}-{day}-{_reply_hash(slug, message.pk, day)}"
    return f"{slug}+reply-{token}@{settings.LIST_DOMAIN}"


class Refused(Exception):
    """A private reply that must not go out; str() is the SMTP reply that says why."""


def private_reply_target(mailing_list: MailingList, detail: str) -> Message:
    """The post a private reply token ("<pk>-<day>-<hmac>") names; raises Refused (forged,
    expired, or an author we cannot reach)."""
    pk, day, digest = [*detail.split("-"), "", "", ""][:3]
    well_formed = pk.isdigit() and day.isdigit() and len(pk) < 19 and len(day) < 8
    if not well_formed or not constant_time_compare(
        digest, _reply_hash(mailing_list.slug, int(pk), int(day))
    ):
        raise Refused("550 5.1.1 This private reply address is not valid; nothing was sent")
    if (timezone.localdate() - _EPOCH).days > int(day):
        raise Refused(
            "550 5.1.1 This private reply address has expired; nothing was sent. "
            "Use the post's Reply to author button in the list archive instead"
        )
    message = (
        Message.objects.filter(
            pk=int(pk), mailing_list=mailing_list, status=Message.Status.PUBLISHED
        )
        .select_related("author", "mailing_list")
        .first()
    )
    if message is None or author_address(message) is None:
        raise Refused("550 5.1.1 The author of this post cannot be reached privately")
    return message


def author_address(message: Message) -> str | None:
    """The author's verified address (primary first), never shown to the replier."""
    if message.author is None or not message.author.is_active:
        return None
    address = (
        EmailAddress.objects.filter(user=message.author, verified=True)
        .order_by("-primary", "pk")
        .values_list("email", flat=True)
        .first()
    )
    return str(address) if address else None


def _check_sender(user: User | None, message: Message, email: str) -> User:
    mailing_list = message.mailing_list
    if user is None or not can_read(user, mailing_list):
        raise Refused(f"550 5.7.1 {email} may not write to this list's members; nothing was sent")
    if BannedSender.objects.filter(mailing_list=mailing_list, email__iexact=email).exists():
        raise Refused(f"550 5.7.1 {email} is banned from this list; nothing was sent")
    return user


def _check_content(
    subject: str, text: str, html: str, attachments: list[tuple[str, str, bytes]]
) -> None:
    findings = phi_scan(f"{subject}\n{text}")
    reasons = [phi_summary(findings)] if findings else []
    reasons += phi_scan_parts(
        html_text=mailparse.html_to_text(html) if html else "", attachments=attachments
    )
    if reasons:
        raise Refused(
            "550 5.7.1 Not sent: it looks like it contains patient information ("
            + "; ".join(reasons)[:300]
            + "). Please send it again without it"
        )
    if not text.strip() and not attachments:
        raise Refused("550 5.6.0 Not sent: the message is empty")


@dataclass
class Checked:
    message: Message
    sender: User
    sender_email: str
    subject: str
    text: str
    attachments: list[tuple[str, str, bytes]]


def private_reply_check(
    *, mailing_list: MailingList, detail: str, msg: PyMessage, mail_from: str, peer: str
) -> Checked:
    """Every check a private reply by mail passes before it is accepted; raises Refused."""
    message = private_reply_target(mailing_list, detail)
    if mailparse.auto_reply_reason(msg, mail_from):
        raise Refused("550 5.7.1 Automatic replies are not relayed to the author")
    _name, email = mailparse.address(msg, "From")
    if not email:
        raise Refused("550 5.1.7 No sender address; nothing was sent")
    verdict = mailauth.sender_verdict(msg, from_email=email, peer=peer)
    if not verdict.trusted:
        raise Refused(
            f"550 5.7.1 Could not prove this came from {email} ({verdict.reason}); "
            "nothing was sent. Use the Reply to author button in the list archive"
        )
    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=True)
        .select_related("user")
        .first()
    )
    user = _check_sender(address.user if address else None, message, email)
    content = mailparse.body(msg)
    kept = [
        (name, ctype, payload)
        for name, ctype, payload in content.attachments
        if attachment_allowed(name, ctype, len(payload))
    ]
    text = mailparse.storable(content.text)
    dropped = len(content.attachments) - len(kept)
    if dropped:
        text += f"\n\n[{dropped} attachment(s) of a kind the list does not carry were left out]"
    subject = mailparse.storable(mailparse.header(msg, "Subject")).strip()[:300]
    _check_content(subject, text, content.html, kept)
    return Checked(message, user, email, subject or f"Re: {message.subject}", text, kept)


def private_reply_relay(*, inbound: InboundMessage, route_detail: str) -> PrivateReply:
    """Accepted at DATA: record the reply and queue its one relayed copy. Checked again here,
    since time passes between the listener and the worker; raises Refused."""
    from ..tasks import send_private_reply  # cycle: tasks import services
    from .inbound import inbound_route

    route = inbound_route(rcpt_to=inbound.rcpt_to)
    if route is None or route.kind != "reply":
        raise Refused("550 5.1.1 No such list here")
    checked = private_reply_check(
        mailing_list=route.mailing_list,
        detail=route_detail,
        msg=mailparse.parse(bytes(inbound.raw)),
        mail_from=inbound.mail_from,
        peer=inbound.peer,
    )
    with transaction.atomic():
        reply, _ = PrivateReply.objects.get_or_create(
            inbound=inbound,
            defaults={
                "message": checked.message,
                "sender": checked.sender,
                "sender_email": checked.sender_email,
                "subject": checked.subject,
                "body_text": checked.text,
            },
        )
        transaction.on_commit(lambda: send_private_reply.delay(reply.pk))
    return reply


def private_reply_web(*, user: User, message: Message, subject: str, text: str) -> PrivateReply:
    """The archive's "Reply to author" form: the same checks (signed in proves the sender);
    raises Refused."""
    from ..tasks import send_private_reply  # cycle: tasks import services

    if author_address(message) is None or message.status != Message.Status.PUBLISHED:
        raise Refused("The author of this post cannot be reached privately.")
    _check_sender(user, message, user.email)
    subject = mailparse.storable(subject).strip()[:300] or f"Re: {message.subject}"
    text = mailparse.storable(text)
    _check_content(subject, text, "", [])
    with transaction.atomic():
        reply = PrivateReply.objects.create(
            message=message,
            sender=user,
            sender_email=user.email,
            subject=subject,
            body_text=text,
        )
        transaction.on_commit(lambda: send_private_reply.delay(reply.pk))
    return reply


def refusal_text(exc: Refused) -> str:
    """What a person reads of an SMTP refusal: the words after the codes."""
    parts = str(exc).split(" ", 2)
    return parts[2] if len(parts) == 3 and parts[0].isdigit() else str(exc)
