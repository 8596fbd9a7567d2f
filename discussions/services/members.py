"""Subscriptions, thread follow/mute, and one-click unsubscribe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction

from membership.access import is_active_member

from ..models import MailingList, Subscription, Thread, ThreadPreference
from .common import unsubscribe_token_read

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def subscription_set(*, user: User, mailing_list: MailingList, mode: str) -> Subscription:
    """Subscribe `user` or change their delivery mode. Raises PermissionDenied for non-members
    and ValueError for an unknown mode. Re-enables delivery a bounce paused: saving the form
    is the member saying "my address works again"."""
    if not is_active_member(user):
        raise PermissionDenied("Only active members may subscribe.")
    if mode not in Subscription.Mode.values:
        raise ValueError(f"unknown delivery mode {mode!r}")
    with transaction.atomic():
        subscription, _ = Subscription.objects.select_for_update().get_or_create(
            user=user, mailing_list=mailing_list, defaults={"mode": mode}
        )
        subscription.mode = mode
        subscription.delivery_disabled_at = None
        subscription.disabled_reason = ""
        subscription.bounce_score = 0
        subscription.save()
    return subscription


def subscription_cancel(*, user: User, mailing_list: MailingList) -> bool:
    """Leave a list. Returns False when there was nothing to cancel (a repeated click)."""
    deleted, _ = Subscription.objects.filter(user=user, mailing_list=mailing_list).delete()
    return bool(deleted)


def subscription_unsubscribe(*, token: str) -> MailingList:
    """RFC 8058 one-click unsubscribe by signed token. Idempotent; raises
    django.core.signing.BadSignature for a forged token and MailingList.DoesNotExist."""
    list_pk, user_pk = unsubscribe_token_read(token)
    mailing_list = MailingList.objects.get(pk=list_pk)
    Subscription.objects.filter(user_id=user_pk, mailing_list=mailing_list).delete()
    return mailing_list


def thread_preference_set(*, user: User, thread: Thread, state: str | None) -> None:
    """Follow or mute a thread for `user`, or clear the choice with state=None."""
    if state is None:
        ThreadPreference.objects.filter(user=user, thread=thread).delete()
        return
    if state not in ThreadPreference.State.values:
        raise ValueError(f"unknown thread state {state!r}")
    ThreadPreference.objects.update_or_create(user=user, thread=thread, defaults={"state": state})
