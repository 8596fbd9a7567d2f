"""A conference running today: a plenary going on now and two break-outs, credit types with
hours on the sessions, and confirmed attendees whose tickets are their own accounts'."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from conferences.models import Attendee, BreakoutChoice, Order
from education.models import CreditType, SessionCredit, SessionRule
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)


@pytest.fixture
def conference():
    today = timezone.localdate()
    return ConferencePageFactory(start_date=today, end_date=today, capacity=100)


@pytest.fixture
def ticket_type(conference):
    return TicketTypeFactory(conference=conference)


@pytest.fixture
def plenary(conference):
    now = timezone.now()
    session = SessionFactory(
        conference=conference,
        title="State of rheumatology practice",
        kind="plenary",
        capacity=None,
        starts_at=now - timedelta(minutes=10),
        ends_at=now + timedelta(minutes=50),
    )
    SessionCredit.objects.create(
        session=session, credit_type=CreditType.objects.get(code="CRMS"), hours=Decimal("1.5")
    )
    SessionCredit.objects.create(
        session=session, credit_type=CreditType.objects.get(code="CEU"), hours=Decimal("1")
    )
    SessionRule.objects.create(session=session, room_code="RHEUM7")
    return session


@pytest.fixture
def breakout(conference):
    now = timezone.now()
    session = SessionFactory(
        conference=conference,
        title="Prior authorizations that stick",
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(minutes=55),
        capacity=1,
    )
    SessionCredit.objects.create(
        session=session, credit_type=CreditType.objects.get(code="CMPM"), hours=Decimal("1")
    )
    return session


def make_attendee(conference, ticket_type, *picked, user=None, status="paid"):
    user = user or MemberFactory()
    order = Order.objects.create(
        conference=conference, owner=user, email=user.email, status=status, price_tier="member"
    )
    attendee = Attendee.objects.create(
        order=order,
        ticket_type=ticket_type,
        first_name=user.first_name or "Ana",
        last_name=user.last_name or "Diaz",
        email=user.email,
    )
    for session in picked:
        BreakoutChoice.objects.create(
            attendee=attendee, session=session, slot_starts_at=session.starts_at
        )
    return attendee


@pytest.fixture
def attendee(conference, ticket_type):
    return make_attendee(
        conference, ticket_type, user=MemberFactory(first_name="Maria", last_name="Lopez")
    )


@pytest.fixture
def door_staff():
    user = StaffFactory(is_staff=False)
    user.groups.add(Group.objects.get(name="Check-in staff"))
    return user


@pytest.fixture
def staff():
    return StaffFactory()


@pytest.fixture
def member():
    return MemberFactory()


@pytest.fixture
def non_member():
    return UserFactory()
