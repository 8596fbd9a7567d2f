"""Nominations: a member puts someone forward (or themselves), the nominee accepts, staff
approve. Only approved nominations stand on the ballot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from membership import access

from ..models import Election, Nomination, Office
from .common import Refusal, audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile


def nomination_create(
    *,
    office: Office,
    nominated_by: User,
    nominee_email: str,
    statement: str = "",
    photo: UploadedFile | None = None,
) -> Nomination:
    """Nominate the member with `nominee_email` for `office` while nominations are open.

    Both the nominator and the nominee must be current members (access.may_stand). A self-
    nomination is accepted at once and waits for staff; anyone else's waits for the nominee,
    whose statement and photo come with their acceptance. One nomination per person per
    office: a second is refused (409)."""
    election = office.election
    if election.phase() != Election.Phase.NOMINATIONS:
        raise Refusal("Nominations for this election are not open.", 409)
    if not access.may_stand(nominated_by):
        raise Refusal("Only current members may nominate.", 403)
    nominee = (
        get_user_model().objects.filter(email__iexact=nominee_email.strip(), is_active=True).first()
    )
    if nominee is None or not access.may_stand(nominee):
        raise Refusal("Only current members may stand. Check the address you gave.", 400)
    is_self = nominee.pk == nominated_by.pk
    try:
        with transaction.atomic():
            return Nomination.objects.create(
                office=office,
                nominee=nominee,
                nominated_by=nominated_by,
                status=(
                    Nomination.Status.AWAITING_STAFF
                    if is_self
                    else Nomination.Status.AWAITING_NOMINEE
                ),
                display_name=nominee.get_full_name() or nominee.email,
                statement=statement if is_self else "",
                photo=photo if is_self and photo else "",
                responded_at=timezone.now() if is_self else None,
            )
    except IntegrityError:
        raise Refusal("That member is already nominated for this office.", 409) from None


def nomination_respond(
    *,
    nomination: Nomination,
    user: User,
    accept: bool,
    statement: str = "",
    photo: UploadedFile | None = None,
) -> Nomination:
    """The nominee accepts (with a statement and photo) or declines, before nominations
    close. Anyone else, or a second answer, is refused."""
    with transaction.atomic():
        nomination = Nomination.objects.select_for_update().get(pk=nomination.pk)
        if nomination.nominee_id != user.pk:
            raise Refusal("Only the nominee can answer this nomination.", 403)
        if nomination.status != Nomination.Status.AWAITING_NOMINEE:
            raise Refusal("This nomination has been answered already.", 409)
        if nomination.office.election.phase() != Election.Phase.NOMINATIONS:
            raise Refusal("Nominations for this election are closed.", 409)
        nomination.responded_at = timezone.now()
        if accept:
            if not access.may_stand(user):
                raise Refusal("Only current members may stand.", 403)
            nomination.status = Nomination.Status.AWAITING_STAFF
            nomination.statement = statement
            if photo:
                nomination.photo = photo
        else:
            nomination.status = Nomination.Status.DECLINED
        nomination.save()
        return nomination


def nomination_review(*, nomination: Nomination, staff: User, approve: bool) -> Nomination:
    """Staff put an accepted nomination on the ballot, or turn it down, before voting opens.
    Recorded in the audit log."""
    with transaction.atomic():
        nomination = (
            Nomination.objects.select_for_update()
            .select_related("office__election")
            .get(pk=nomination.pk)
        )
        election = nomination.office.election
        if nomination.status != Nomination.Status.AWAITING_STAFF:
            raise Refusal("Only accepted nominations waiting for staff can be reviewed.", 409)
        if election.phase() in {
            Election.Phase.VOTING,
            Election.Phase.COUNTING,
            Election.Phase.CLOSED,
        }:
            raise Refusal("The ballot cannot change once voting has opened.", 409)
        nomination.status = Nomination.Status.APPROVED if approve else Nomination.Status.REJECTED
        nomination.reviewed_at = timezone.now()
        nomination.reviewed_by = staff
        nomination.save()
        audit(
            election=election,
            actor=staff,
            action="nomination approved" if approve else "nomination rejected",
            detail=f"{nomination.display_name} for {nomination.office.title}",
        )
        return nomination
