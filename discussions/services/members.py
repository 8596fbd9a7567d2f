"""Subscriptions, thread follow/mute, and one-click unsubscribe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from membership.access import is_active_member

from ..models import Invitation, JoinRequest, MailingList, Subscription, Thread, ThreadPreference
from .common import is_moderator, unsubscribe_token_read

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
    if not may_join_directly(user, mailing_list):
        raise PermissionDenied("This list is joined by request or invitation.")
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


def may_join_directly(user: User, mailing_list: MailingList) -> bool:
    """Whether `user` may subscribe (or change their mode) without asking: any active member
    on an open list; on a committee list its moderators and those already subscribed."""
    if not mailing_list.is_restricted:
        return True
    return (
        is_moderator(user, mailing_list)
        or Subscription.objects.filter(user=user, mailing_list=mailing_list).exists()
    )


def _join(user: User, mailing_list: MailingList) -> Subscription:
    subscription, _ = Subscription.objects.get_or_create(
        user=user, mailing_list=mailing_list, defaults={"mode": Subscription.Mode.EVERY}
    )
    return subscription


def join_request_create(*, user: User, mailing_list: MailingList, note: str = "") -> JoinRequest:
    """A member asks to join a by-request list; its moderators are told once. Asking again
    while a request waits changes nothing; after a decline it asks anew."""
    from ..tasks import send_join_request_notice  # cycle: tasks import services

    if not is_active_member(user):
        raise PermissionDenied("Only active members may ask to join.")
    if mailing_list.joining != MailingList.Joining.REQUEST:
        raise PermissionDenied("This list does not take requests.")
    with transaction.atomic():
        request, created = JoinRequest.objects.select_for_update().get_or_create(
            user=user, mailing_list=mailing_list, defaults={"note": note[:500]}
        )
        if not created and request.status == JoinRequest.Status.DECLINED:
            request.status = JoinRequest.Status.PENDING
            request.note = note[:500]
            request.created_at = timezone.now()
            request.decided_by = request.decided_at = None
            request.moderators_notified_at = request.requester_notified_at = None
            request.save()
            created = True
        if created:
            transaction.on_commit(lambda: send_join_request_notice.delay(request.pk))
    return request


def join_request_decide(*, request: JoinRequest, moderator: User, approve: bool) -> JoinRequest:
    """A moderator approves (the member is subscribed) or declines; the member is told once.
    Acts once: deciding a request already decided changes nothing."""
    from ..tasks import send_join_decision  # cycle: tasks import services

    if not is_moderator(moderator, request.mailing_list):
        raise PermissionDenied
    with transaction.atomic():
        request = JoinRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != JoinRequest.Status.PENDING:
            return request
        request.status = JoinRequest.Status.APPROVED if approve else JoinRequest.Status.DECLINED
        request.decided_by = moderator
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        if approve:
            _join(request.user, request.mailing_list)
        transaction.on_commit(lambda: send_join_decision.delay(request.pk))
    return request


INVITATION_SALT = "discussions.invitation"
INVITATION_MAX_AGE = 60 * 60 * 24 * 30  # a month, in seconds


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(invitation.pk, salt=INVITATION_SALT, compress=False)


def invitation_read(token: str) -> Invitation:
    """The invitation a link names; raises signing.BadSignature (SignatureExpired after a
    month) and Invitation.DoesNotExist."""
    pk = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    if not isinstance(pk, int):
        raise signing.BadSignature("malformed")
    return Invitation.objects.select_related("mailing_list", "user").get(pk=pk)


def invitation_create(*, mailing_list: MailingList, user: User, moderator: User) -> Invitation:
    """A moderator invites a member; the member gets a signed link by mail, once. Inviting
    again renews the invitation (a new link, mailed again)."""
    from ..tasks import send_invitation  # cycle: tasks import services

    if not is_moderator(moderator, mailing_list):
        raise PermissionDenied
    if not is_active_member(user):
        raise ValueError("Only active members can be invited.")
    with transaction.atomic():
        invitation, created = Invitation.objects.select_for_update().get_or_create(
            mailing_list=mailing_list, user=user, defaults={"invited_by": moderator}
        )
        if not created:
            invitation.invited_by = moderator
            invitation.created_at = timezone.now()
            invitation.accepted_at = invitation.sent_at = None
            invitation.save()
        transaction.on_commit(lambda: send_invitation.delay(invitation.pk))
    return invitation


def invitation_accept(*, invitation: Invitation, user: User) -> Subscription:
    """The invited member accepts: subscribed. Only the member invited, while a member."""
    if user.pk != invitation.user_id or not is_active_member(user):
        raise PermissionDenied("This invitation is for someone else.")
    with transaction.atomic():
        Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            accepted_at=timezone.now()
        )
        return _join(user, invitation.mailing_list)
