"""Small helpers the services share: ids, addresses, signed tokens, who may do what."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from membership.access import is_active_member

from ..models import Invitation, MailingList, Message, Subscription

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

UNSUBSCRIBE_SALT = "discussions.unsubscribe"


def new_message_id(kind: str = "msg") -> str:
    """A Message-ID of our own under the list domain (RFC 5322 section 3.6.4)."""
    return f"<{kind}.{uuid.uuid4().hex}@{settings.LIST_DOMAIN}>"


VERP_SALT = "discussions.verp"
VERP_HASH_LENGTH = 10


def _verp_hash(slug: str, recipient: str) -> str:
    value = f"{slug.lower()}:{recipient.lower()}"
    return salted_hmac(VERP_SALT, value).hexdigest()[:VERP_HASH_LENGTH]


def bounce_address(mailing_list: MailingList, recipient: str) -> str:
    """VERP return path: slug-bounces+<hash>-local=domain@LIST_DOMAIN.

    The short keyed hash (HMAC with SECRET_KEY) is what makes a bounce to this address
    believable: without it anyone could mail "failed" reports for a member's address and
    switch their mail off. Hex, since mail systems may change the case of a local part.
    """
    local, _, domain = recipient.partition("@")
    digest = _verp_hash(mailing_list.slug, recipient)
    return f"{mailing_list.slug}-bounces+{digest}-{local}={domain}@{settings.LIST_DOMAIN}"


def bounce_address_read(mailing_list: MailingList, detail: str) -> str | None:
    """The recipient a VERP detail ("<hash>-local=domain") names, or None when the hash is
    missing or wrong (a forged or old-format address)."""
    digest, _, encoded = detail.partition("-")
    local, _, domain = encoded.rpartition("=")
    if not local or not domain or len(digest) != VERP_HASH_LENGTH:
        return None
    recipient = f"{local}@{domain}"
    if not constant_time_compare(digest, _verp_hash(mailing_list.slug, recipient)):
        return None
    return recipient


def unsubscribe_token(*, list_pk: int, user_pk: int) -> str:
    """A signed, non-expiring token naming one subscription (RFC 8058 links must just work)."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(f"{list_pk}.{user_pk}")


def unsubscribe_token_read(token: str) -> tuple[int, int]:
    """(list pk, user pk) from a token; raises signing.BadSignature when it was tampered with."""
    value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    list_pk, _, user_pk = value.partition(".")
    try:
        return int(list_pk), int(user_pk)
    except ValueError as exc:
        raise signing.BadSignature("malformed") from exc


CONFIRM_SALT = "discussions.confirm-post"


def confirmation_token(message: Message) -> str:
    """A signed, timestamped token naming one post, for the member's one-click confirmation."""
    return signing.dumps(message.pk, salt=CONFIRM_SALT, compress=False)


def confirmation_token_read(token: str, *, max_age: dt.timedelta | int) -> int:
    """The post's pk; raises signing.BadSignature (or its SignatureExpired) when forged or
    older than `max_age`."""
    pk = signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)
    if not isinstance(pk, int):
        raise signing.BadSignature("malformed")
    return pk


MODERATE_SALT = "discussions.moderate"


def moderation_address(message: Message) -> str:
    """Where a moderator replies "approve" or "reject": slug-moderate+<pk>-<hmac>@LIST_DOMAIN.

    Hex, not base64, because mail systems may change the case of a local part.
    """
    digest = salted_hmac(MODERATE_SALT, str(message.pk)).hexdigest()[:24]
    slug = message.mailing_list.slug
    return f"{slug}-moderate+{message.pk}-{digest}@{settings.LIST_DOMAIN}"


def moderation_token_read(token: str) -> int | None:
    """The message pk a moderation token names, or None when it is forged."""
    pk, _, digest = token.partition("-")
    if not pk.isdigit():
        return None
    expected = salted_hmac(MODERATE_SALT, pk).hexdigest()[:24]
    return int(pk) if constant_time_compare(digest, expected) else None


def is_moderator(user: User | AnonymousUser | None, mailing_list: MailingList) -> bool:
    """Superusers, staff with the right to change messages, or a moderator the list names.
    Groups grant nothing here: page approvers ("Moderators") moderate no list for that."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or (user.is_staff and user.has_perm("discussions.change_message")):
        return True
    return mailing_list.moderators.filter(pk=user.pk).exists()


def is_subscriber(user: User | AnonymousUser | None, mailing_list: MailingList) -> bool:
    """An active member subscribed to the list in any mode (web only included)."""
    if user is None or not user.is_authenticated:
        return False
    return (
        is_active_member(user)
        and Subscription.objects.filter(user=user, mailing_list=mailing_list).exists()
    )


def can_read(user: User | AnonymousUser | None, mailing_list: MailingList) -> bool:
    """Who reads the archive. A committee or board list (joined by request or invitation):
    its subscribers and moderators only, whatever archive_members_only says."""
    if mailing_list.is_restricted:
        return is_subscriber(user, mailing_list) or is_moderator(user, mailing_list)
    if not mailing_list.archive_members_only:
        return True
    return is_active_member(user) or is_moderator(user, mailing_list)


def can_see(user: User | AnonymousUser | None, mailing_list: MailingList) -> bool:
    """Whether the list shows up for `user` at all (index, its page, search).

    Open lists show to everyone. A list a person cannot join is hidden from them: a
    by-request list shows to active members (who may ask), an invitation-only list to those
    invited; both to their subscribers and moderators.
    """
    if not mailing_list.is_active:
        return False
    if not mailing_list.is_restricted:
        return True
    if can_read(user, mailing_list):
        return True
    if user is None or not user.is_authenticated or not is_active_member(user):
        return False
    if mailing_list.joining == MailingList.Joining.REQUEST:
        return True
    return Invitation.objects.filter(
        user_id=user.pk, mailing_list=mailing_list, accepted_at__isnull=True
    ).exists()


def may_post(user: User | AnonymousUser | None, mailing_list: MailingList) -> str:
    """Why `user` may not post to the list ("" when they may): the permitted senders."""
    if user is None or not user.is_authenticated or not is_active_member(user):
        return "Sender is not an active member"
    if is_moderator(user, mailing_list):
        return ""
    Posting = MailingList.Posting
    if mailing_list.posting == Posting.MODERATORS:
        return "Only moderators post to this list"
    if mailing_list.posting == Posting.NAMED:
        if not mailing_list.allowed_senders.filter(pk=user.id).exists():
            return "Only named members post to this list"
        return ""
    if mailing_list.is_restricted and not is_subscriber(user, mailing_list):
        return "Only this list's subscribers post to it"
    return ""


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"
