"""membership.access: who counts as a member, for the rest of the portal."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from membership import access
from membership.models import Membership, Seat
from tests.factories import (
    MemberFactory,
    MembershipFactory,
    PracticeMembershipFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
State = Membership.State


def test_member_factory_makes_an_active_member():
    member = MemberFactory()

    assert access.is_active_member(member)
    assert access.price_tier(member) == access.MEMBER
    assert list(access.active_members()) == [member]


def test_anonymous_plain_users_and_staff_are_not_members():
    assert not access.is_active_member(AnonymousUser())
    assert not access.is_active_member(None)
    assert not access.is_active_member(UserFactory())
    staff = StaffFactory()
    assert not access.is_active_member(staff)
    assert access.price_tier(staff) == access.NON_MEMBER
    assert access.can_read_members_only(staff)


@pytest.mark.parametrize(
    ("state", "member"),
    [
        (State.ACTIVE, True),
        (State.GRACE, True),
        (State.PENDING, False),
        (State.LAPSED, False),
        (State.CANCELED, False),
    ],
)
def test_states_that_give_access(state, member):
    user = MembershipFactory(state=state).user

    assert access.is_active_member(user) is member
    assert access.can_read_members_only(user) is member
    assert (user in access.active_members()) is member


def test_access_ends_on_time_even_if_the_state_was_not_moved_yet():
    past = timezone.now() - timedelta(minutes=1)
    user = MembershipFactory(state=State.GRACE, access_ends_at=past).user

    assert not access.is_active_member(user)


def test_complimentary_membership_counts():
    user = MembershipFactory(
        is_complimentary=True, current_period_end=None, access_ends_at=None
    ).user

    assert access.is_active_member(user)


def test_practice_seat_holders_are_members_until_removed_or_the_practice_lapses():
    practice = PracticeMembershipFactory()
    staff = UserFactory()
    seat = Seat.objects.create(membership=practice, email=staff.email, user=staff)

    assert access.is_active_member(practice.user)
    assert access.is_active_member(staff)

    seat.removed_at = timezone.now()
    seat.save()
    assert not access.is_active_member(staff)

    seat.removed_at = None
    seat.save()
    practice.state = State.LAPSED
    practice.save()
    assert not access.is_active_member(staff)
    assert not access.is_active_member(practice.user)


def test_inactive_accounts_are_not_members():
    member = MemberFactory()
    member.is_active = False
    member.save()

    assert not access.is_active_member(member)
    assert member not in access.active_members()


def test_active_members_is_one_query_and_joinable(django_assert_num_queries):
    members = [MemberFactory() for _ in range(5)]
    UserFactory()
    MembershipFactory(state=State.LAPSED)

    with django_assert_num_queries(1):
        ids = set(access.active_members().values_list("pk", flat=True))
    assert ids == {m.pk for m in members}
