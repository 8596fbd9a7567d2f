"""Practice seats: invitations by email, accepting one, taking one back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ..models import Membership, Notice, Seat
from .common import MembershipError, _lock
from .notices import notice_queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def seats_in_use(membership: Membership) -> int:
    return membership.seats.filter(removed_at__isnull=True).count()


def seat_invite(*, membership: Membership, email: str, invited_by: User) -> Seat:
    """Invite a staff member to the practice membership by email (one open seat per address).

    Raises MembershipError when the inviter is not the practice admin, the membership is not
    live or every seat is taken.
    """
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    with transaction.atomic():
        m = _lock(membership.pk)
        if not m.practice_id or m.user_id != invited_by.pk:
            raise MembershipError("Only the practice admin can invite staff.")
        if not m.is_live:
            raise MembershipError("The practice membership is not active.")
        if seats_in_use(m) >= m.plan.seats:
            raise MembershipError(f"All {m.plan.seats} seats are in use.")
        if m.seats.filter(removed_at__isnull=True, email__iexact=email).exists():
            raise MembershipError(f"{email} already has a seat or an invitation.")
        seat = Seat.objects.create(membership=m, email=email, invited_by=invited_by)
        notice_queue(
            membership=m, kind=Notice.Kind.SEAT_INVITE, key=f"seat-{seat.pk}", to_email=email
        )
    return seat


def seat_accept(*, seat: Seat, user: User) -> Seat:
    """The invited person takes the seat; their verified email must be the invited one."""
    with transaction.atomic():
        seat = Seat.objects.select_for_update().get(pk=seat.pk)
        if seat.removed_at is not None:
            raise MembershipError("This invitation was withdrawn.")
        if seat.user_id == user.pk:
            return seat
        if seat.user_id is not None:
            raise MembershipError("This invitation has already been accepted.")
        if not EmailAddress.objects.filter(
            user=user, email__iexact=seat.email, verified=True
        ).exists():
            raise MembershipError(
                f"This invitation is for {seat.email}. Log in with that address to accept it."
            )
        seat.user = user
        seat.accepted_at = timezone.now()
        seat.save(update_fields=["user", "accepted_at"])
    return seat


def seat_remove(*, seat: Seat, actor: User) -> Seat:
    """Take a seat (or an invitation) back; the person loses member access at once."""
    with transaction.atomic():
        seat = (
            Seat.objects.select_for_update(of=("self",))
            .select_related("membership")
            .get(pk=seat.pk)
        )
        if seat.membership.user_id != actor.pk:
            raise MembershipError("Only the practice admin can remove staff.")
        if seat.user_id == actor.pk:
            raise MembershipError("The practice admin keeps their own seat.")
        if seat.removed_at is None:
            seat.removed_at = timezone.now()
            seat.save(update_fields=["removed_at"])
    return seat
