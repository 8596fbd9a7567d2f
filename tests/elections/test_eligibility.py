"""Who may vote and stand, asked of membership.access: lapsed members, non-voting plans and
practice seats (the designated voter, or every seat holder, as the election says)."""

import pytest
from django.utils import timezone

from elections import services
from elections.models import Ballot, Election, Participation
from membership import access
from membership.models import Membership, Seat
from tests.elections.conftest import add_candidate, add_office, form, make_election
from tests.factories import (
    MemberFactory,
    MembershipFactory,
    PlanFactory,
    PracticeMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _seat(membership, user):
    return Seat.objects.create(
        membership=membership, email=user.email, user=user, accepted_at=timezone.now()
    )


def _refused(election, user, status, text):
    office = election.offices.first()
    candidate = office.nominations.first()
    with pytest.raises(services.Refusal) as caught:
        services.ballot_cast(
            election=election, user=user, data=form(**{f"office-{office.pk}": candidate.key})
        )
    assert caught.value.status == status
    assert text in caught.value.message
    assert not Participation.objects.filter(election=election).exists()
    assert not Ballot.objects.filter(election=election).exists()


def _election(**fields):
    election = make_election("voting", **fields)
    add_candidate(add_office(election), "Ada")
    return election


def test_an_active_member_on_a_voting_plan_votes():
    election = _election()
    voter = MemberFactory()
    office = election.offices.first()
    receipt = services.ballot_cast(
        election=election,
        user=voter,
        data=form(**{f"office-{office.pk}": office.nominations.first().key}),
    )
    assert Ballot.objects.get(receipt_code=receipt).choices == {
        str(office.pk): [office.nominations.first().key]
    }


def test_a_member_lapsed_at_the_cutoff_is_refused():
    election = _election()
    lapsed = MemberFactory(membership__state=Membership.State.LAPSED)
    _refused(election, lapsed, 403, "active on")


def test_a_member_whose_access_ended_before_the_cutoff_is_refused():
    election = _election()
    ended = MemberFactory(membership__access_ends_at=election.eligibility_cutoff)
    assert access.voter_standing(ended, election.eligibility_cutoff, "designated") == (
        access.VOTER_NOT_A_MEMBER
    )
    _refused(election, ended, 403, "active on")


def test_someone_who_joined_after_the_roll_was_frozen_is_refused():
    election = _election()
    services.roll_freeze(election)
    _refused(election, MemberFactory(), 403, "active on")


def test_a_non_voting_plan_is_refused_with_its_reason():
    election = _election()
    associate = UserFactory()
    MembershipFactory(user=associate, plan=PlanFactory(name="Associate", is_voting=False))
    _refused(election, associate, 403, "does not carry a vote")


def test_practice_designated_voter_votes_and_other_seats_do_not():
    election = _election(practice_rule=Election.PracticeRule.DESIGNATED)
    practice = PracticeMembershipFactory()
    staffer = UserFactory()
    _seat(practice, staffer)
    # With no voter named, the practice admin votes for the practice.
    assert access.may_vote(practice.user, election.eligibility_cutoff, "designated")
    _refused(election, staffer, 403, "designated voter")


def test_practice_naming_another_designated_voter_moves_the_vote():
    practice = PracticeMembershipFactory()
    staffer = UserFactory()
    _seat(practice, staffer)
    practice.designated_voter = staffer
    practice.save()
    at = timezone.now()
    assert access.may_vote(staffer, at, access.PRACTICE_DESIGNATED_VOTER)
    assert not access.may_vote(practice.user, at, access.PRACTICE_DESIGNATED_VOTER)


def test_practice_every_seat_holder_votes_when_the_election_says_so():
    election = _election(practice_rule=Election.PracticeRule.EVERY_SEAT)
    practice = PracticeMembershipFactory()
    staffer = UserFactory()
    _seat(practice, staffer)
    roll = set(access.voting_members(election.eligibility_cutoff, "every_seat"))
    assert {practice.user, staffer} <= roll
    services.roll_freeze(election)
    assert election.electors.filter(user=staffer).exists()


def test_a_removed_seat_does_not_vote():
    practice = PracticeMembershipFactory()
    staffer = UserFactory()
    seat = _seat(practice, staffer)
    seat.removed_at = timezone.now()
    seat.save()
    assert not access.may_vote(staffer, timezone.now(), access.PRACTICE_EVERY_SEAT)


def test_only_current_members_may_stand():
    election = make_election("nominations")
    office = add_office(election)
    member = MemberFactory()
    lapsed = MemberFactory(membership__state=Membership.State.LAPSED)
    with pytest.raises(services.Refusal) as caught:
        services.nomination_create(office=office, nominated_by=member, nominee_email=lapsed.email)
    assert caught.value.status == 400
    assert not office.nominations.exists()
    assert access.may_stand(member) and not access.may_stand(lapsed)
