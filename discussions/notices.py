"""Mail to a single sender about their post: held, rejected, or could not be read.

Marked Auto-Submitted (RFC 3834) and sent from the list's bounce address, so auto-responders
stay quiet and nothing they send back can be posted.

Patient data never leaves in mail, not even to moderators: a notice quotes a post's subject,
text or a moderator's note only through `phi.masked` (digits, addresses and name-like words
blotted out, whether or not the guard recognised them). The full post is on the moderation
page, which only the list's moderators can open.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from portal.mail import render_email

from . import mailparse
from .models import InboundMessage, Invitation, JoinRequest, Message, PrivateReply
from .phi import masked, masked_excerpt
from .services.common import confirmation_token, moderation_address, site_url


def _notice(*, to: str, subject: str, heading: str, body: str, mailing_list=None, **extra):
    sender = (
        f'"{mailing_list.name}" <{mailing_list.slug}-owner@{settings.LIST_DOMAIN}>'
        if mailing_list
        else settings.DEFAULT_FROM_EMAIL
    )
    email = render_email(
        template="discussions/email/notice",
        subject=subject,
        to=[to],
        from_email=sender,
        context={"heading": heading, "body": body, **extra},
        headers={"Auto-Submitted": "auto-replied", "Precedence": "list"},
    )
    if mailing_list:
        email.extra_headers["From"] = sender
        email.from_email = f"{mailing_list.slug}-bounces@{settings.LIST_DOMAIN}"
    return email


def confirmation_notice(message: Message):
    """Ask the member, at their own address, whether they sent a post that came in their name
    but could not be verified; the link opens a page with "Publish" and "I didn't send this"."""
    author = message.author
    to = (author.email if author else "") or message.from_email
    if author is None or not to:
        return None
    return _notice(
        to=to,
        subject=f"Did you send this to {message.mailing_list.name}?",
        heading="Please confirm your post",
        body=(
            f'We received "{masked(message.subject)}" for {message.mailing_list.name} in your '
            f"name, from {message.from_email}, but your mail provider's signature could not "
            "prove it came from you, so it has not been sent to the list. Open the link to "
            "publish it, or to tell us you did not send it. The link works for 7 days."
        ),
        mailing_list=message.mailing_list,
        action_url=site_url(
            reverse("discussions:confirm", kwargs={"token": confirmation_token(message)})
        ),
        action_label="Publish or discard the post",
    )


def hold_notice(message: Message):
    if not message.sender_verified:
        # Nobody proved the From address: a notice would land on whoever was forged.
        return None
    return _notice(
        to=message.from_email,
        subject=f"Your post to {message.mailing_list.name} is waiting for a moderator",
        heading="Your post is waiting for a moderator",
        body=(
            f"Thank you for writing to {message.mailing_list.name}. "
            f'Your message "{masked(message.subject)}" was held for a moderator to look at '
            f"before it goes to the list, because: {message.hold_reason}. If it contains patient "
            "details, please send a new version without them. You will hear from us either way."
        ),
        mailing_list=message.mailing_list,
        action_url=site_url(
            reverse("discussions:list", kwargs={"slug": message.mailing_list.slug})
        ),
        action_label="Open the list",
    )


def moderator_notice(message: Message):
    """Tell the list's moderators a post is waiting; they may answer by email."""
    mailing_list = message.mailing_list
    moderators = get_user_model().objects.filter(
        Q(moderated_lists=mailing_list) | Q(is_superuser=True),
        is_active=True,
    )
    to = sorted({u.email for u in moderators if u.email})
    if not to:
        return None
    email = _notice(
        to=to[0],
        subject=f"Held for moderation on {mailing_list.name}: {masked(message.subject)}",
        heading="A post is waiting for you",
        body=(
            f"{message.from_name or message.from_email} <{message.from_email}> wrote "
            f'"{masked(message.subject)}". It was held because: {message.hold_reason}.\n\n'
            "The start of it, with numbers and names hidden so no patient data travels by "
            f'mail: "{masked_excerpt(message.body_text)}"\n\n'
            "Read the whole post, and its attachments, in the moderation queue (logged in as a "
            'moderator of this list). Reply to this mail with "approve" or with "reject" and '
            "a note for the sender, or decide there."
        ),
        mailing_list=mailing_list,
        action_url=site_url(reverse("discussions_moderation") + f"#held-{message.pk}"),
        action_label="Open the post in the moderation queue",
    )
    email.to = to
    email.reply_to = [moderation_address(message)]
    return email


def rejection_notice(message: Message):
    if not message.sender_verified:
        return None
    note = (
        f" The moderator wrote: {masked(message.moderation_note)}"
        if message.moderation_note
        else ""
    )
    return _notice(
        to=message.from_email,
        subject=f"Your post to {message.mailing_list.name} was not sent to the list",
        heading="Your post was not sent to the list",
        body=f'A moderator decided not to send "{masked(message.subject)}" to the list.{note}',
        mailing_list=message.mailing_list,
    )


def failure_notice(inbound: InboundMessage):
    """A clear bounce for mail we could not read; none for robots or an empty return path."""
    to = inbound.mail_from.strip("<>")
    if not to or "@" not in to:
        return None
    try:
        msg = mailparse.parse(bytes(inbound.raw))
        if mailparse.auto_reply_reason(msg, inbound.mail_from):
            return None
        subject = mailparse.header(msg, "Subject") or "(no subject)"
    except Exception:
        subject = "(unreadable)"
    return _notice(
        to=to,
        subject="Your message to the list could not be posted",
        heading="Your message could not be posted",
        body=(
            f'We received your message "{masked(subject)}" but could not read it well enough '
            "to post it (its format looks damaged). It has been kept for the list's staff to look "
            "at. Please send it again as plain text."
        ),
    )


def _moderator_addresses(mailing_list) -> list[str]:
    moderators = get_user_model().objects.filter(
        Q(moderated_lists=mailing_list) | Q(is_superuser=True), is_active=True
    )
    return sorted({u.email for u in moderators if u.email})


def _person(user) -> str:
    return user.get_full_name() or user.email.split("@")[0]


def join_request_notice(request: JoinRequest):
    """Tell a by-request list's moderators that a member asks to join."""
    if request.status != JoinRequest.Status.PENDING:
        return None
    mailing_list = request.mailing_list
    to = _moderator_addresses(mailing_list)
    if not to:
        return None
    email = _notice(
        to=to[0],
        subject=f"{_person(request.user)} asks to join {mailing_list.name}",
        heading="A member asks to join",
        body=(
            f"{_person(request.user)} <{request.user.email}> asks to join {mailing_list.name}. "
            "Approve or decline on the list's members page."
        ),
        mailing_list=mailing_list,
        action_url=site_url(reverse("discussions:members", kwargs={"slug": mailing_list.slug})),
        action_label="Answer the request",
    )
    email.to = to
    return email


def join_decision_notice(request: JoinRequest):
    """Tell the member what a moderator decided about their request."""
    mailing_list = request.mailing_list
    approved = request.status == JoinRequest.Status.APPROVED
    if request.status == JoinRequest.Status.PENDING or not request.user.email:
        return None
    return _notice(
        to=request.user.email,
        subject=(
            f"Welcome to {mailing_list.name}"
            if approved
            else f"Your request to join {mailing_list.name}"
        ),
        heading="You have joined the list" if approved else "Your request was declined",
        body=(
            f"A moderator approved your request: you now get every message of "
            f"{mailing_list.name} and can read its archive."
            if approved
            else f"A moderator declined your request to join {mailing_list.name}."
        ),
        mailing_list=mailing_list,
        action_url=site_url(mailing_list.get_absolute_url()) if approved else "",
        action_label="Open the list" if approved else "",
    )


def invitation_notice(invitation: Invitation):
    """The signed invitation link, to the invited member's own address."""
    from .services.members import invitation_token

    if invitation.accepted_at or not invitation.user.email:
        return None
    mailing_list = invitation.mailing_list
    inviter = _person(invitation.invited_by) if invitation.invited_by else "A moderator"
    return _notice(
        to=invitation.user.email,
        subject=f"You are invited to {mailing_list.name}",
        heading=f"Join {mailing_list.name}",
        body=(
            f"{inviter} invites you to the {mailing_list.name} list. The link works for "
            "30 days, and only when you are logged in as yourself."
        ),
        mailing_list=mailing_list,
        action_url=site_url(
            reverse("discussions:invitation", kwargs={"token": invitation_token(invitation)})
        ),
        action_label="Accept the invitation",
    )


def private_reply_mail(reply: PrivateReply):
    """The relayed private reply, to the author's verified address. From is the list's
    owner address (a reply-all to it reaches no list), Reply-To the replier, who chose to
    write privately; the author's address is never shown to the replier."""
    from email.utils import formataddr

    from .services.private_reply import author_address

    message = reply.message
    mailing_list = message.mailing_list
    to = author_address(message)
    if to is None:
        return None
    name = reply.sender.get_full_name() or reply.sender_email.split("@")[0]
    email = render_email(
        template="discussions/email/private_reply",
        subject=reply.subject,
        to=[to],
        from_email=formataddr(
            (
                f"{name} via {mailing_list.name} (private)",
                f"{mailing_list.slug}-owner@{settings.LIST_DOMAIN}",
            )
        ),
        reply_to=[formataddr((name, reply.sender_email))],
        context={"reply": reply, "message": message, "mailing_list": mailing_list, "name": name},
        headers={
            "In-Reply-To": message.list_message_id,
            "References": message.list_message_id,
            "X-Loop": mailing_list.address,
        },
    )
    email.from_email = f"{mailing_list.slug}-bounces@{settings.LIST_DOMAIN}"
    email.extra_headers["From"] = formataddr(
        (
            f"{name} via {mailing_list.name} (private)",
            f"{mailing_list.slug}-owner@{settings.LIST_DOMAIN}",
        )
    )
    if reply.inbound_id:
        from .services.posting import attachment_allowed

        content = mailparse.body(mailparse.parse(bytes(reply.inbound.raw)))
        for filename, ctype, payload in content.attachments:
            if attachment_allowed(filename, ctype, len(payload)):
                email.attach(filename or "attachment", payload, ctype)
    return email
