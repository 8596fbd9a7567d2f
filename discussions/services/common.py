"""Small helpers the services share: ids, addresses, signed tokens, who may do what."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from membership.access import is_active_member

from ..models import MailingList

UNSUBSCRIBE_SALT = "discussions.unsubscribe"


def new_message_id(kind: str = "msg") -> str:
    """A Message-ID of our own under the list domain (RFC 5322 section 3.6.4)."""
    return f"<{kind}.{uuid.uuid4().hex}@{settings.LIST_DOMAIN}>"


def bounce_address(mailing_list: MailingList, recipient: str) -> str:
    """VERP return path: slug-bounces+local=domain@LIST_DOMAIN, as Mailman spells it."""
    local, _, domain = recipient.partition("@")
    return f"{mailing_list.slug}-bounces+{local}={domain}@{settings.LIST_DOMAIN}"


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


MODERATE_SALT = "discussions.moderate"


def moderation_address(message) -> str:
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


def is_moderator(user, mailing_list: MailingList) -> bool:
    """Superusers, staff with the right to change messages, or a moderator the list names.
    Groups grant nothing here: page approvers ("Moderators") moderate no list for that."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or (user.is_staff and user.has_perm("discussions.change_message")):
        return True
    return mailing_list.moderators.filter(pk=user.pk).exists()


def can_read(user, mailing_list: MailingList) -> bool:
    if not mailing_list.archive_members_only:
        return True
    return is_active_member(user) or is_moderator(user, mailing_list)


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"
