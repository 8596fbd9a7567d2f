"""Practice memberships: the admin invites staff by email, each seat holder is a member."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from membership import access, services
from membership.models import Membership, Notice, Seat
from membership.tasks import send_notice
from tests.factories import TEST_PASSWORD, PracticeMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def send_pending_notices():
    for pk in Notice.objects.filter(sent_at__isnull=True).values_list("pk", flat=True):
        send_notice(pk)


def invitation_link(address):
    message = next(m for m in reversed(mail.outbox) if address in m.to)
    html = message.alternatives[0][0]
    assert "Accept the invitation" in html
    return re.search(r"https?://[^/\s]+(/membership/invitation/[^/\s]+/)", message.body).group(1)


def test_admin_invites_two_staff_both_become_members_and_removing_one_ends_their_access(
    django_capture_on_commit_callbacks,
):
    practice = PracticeMembershipFactory(practice__name="Riverside Rheumatology")
    admin = Client()
    admin.force_login(practice.user)
    existing = UserFactory(email="nina@riverside.example")

    with django_capture_on_commit_callbacks(execute=False):
        for address in ("omar@riverside.example", "Nina@Riverside.example"):
            response = admin.post("/membership/practice/invite/", {"email": address})
            assert response.status_code == 302
    send_pending_notices()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "nina@riverside.example",
        "omar@riverside.example",
    ]

    # Omar is new: the invitation leads to sign-up, and the invited address counts as verified.
    omar = Client()
    link = invitation_link("omar@riverside.example")
    page = omar.get(link)
    assert "Riverside Rheumatology" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = omar.post(
            f"/accounts/signup/?next={link}",
            {
                "first_name": "Omar",
                "last_name": "Haddad",
                "email": "omar@riverside.example",
                "password1": TEST_PASSWORD,
                "password2": TEST_PASSWORD,
                "next": link,
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert EmailAddress.objects.get(email="omar@riverside.example").verified
    assert omar.post(link).status_code == 302

    # Nina has an account already: she logs in and accepts.
    nina = Client()
    nina.force_login(existing)
    assert nina.post(invitation_link("nina@riverside.example")).status_code == 302

    omar_user = Seat.objects.get(email="omar@riverside.example").user
    assert access.is_active_member(omar_user)
    assert access.is_active_member(existing)
    page = admin.get("/membership/account/").content.decode()
    assert "3 of 5 seats used" in page

    seat = Seat.objects.get(user=existing)
    assert admin.post(f"/membership/practice/seats/{seat.pk}/remove/").status_code == 302

    assert not access.is_active_member(existing)
    assert access.is_active_member(omar_user)
    assert "2 of 5 seats used" in admin.get("/membership/account/").content.decode()
    assert nina.get("/membership/directory/").status_code == 403


def test_seats_are_limited_by_the_plan():
    practice = PracticeMembershipFactory(plan__seats=2)
    services.seat_invite(membership=practice, email="a@example.org", invited_by=practice.user)

    with pytest.raises(services.MembershipError, match="seats are in use"):
        services.seat_invite(membership=practice, email="b@example.org", invited_by=practice.user)


def test_only_the_admin_invites_and_only_the_invited_address_accepts():
    practice = PracticeMembershipFactory()
    outsider = UserFactory()
    with pytest.raises(services.MembershipError):
        services.seat_invite(membership=practice, email="x@example.org", invited_by=outsider)
    seat = services.seat_invite(
        membership=practice, email="x@example.org", invited_by=practice.user
    )

    with pytest.raises(services.MembershipError, match=r"for x@example\.org"):
        services.seat_accept(seat=seat, user=outsider)
    assert not access.is_active_member(outsider)


def test_seat_holders_lose_access_when_the_practice_lapses():
    practice = PracticeMembershipFactory()
    staff = UserFactory()
    seat = services.seat_invite(membership=practice, email=staff.email, invited_by=practice.user)
    services.seat_accept(seat=seat, user=staff)
    assert access.is_active_member(staff)

    Membership.objects.filter(pk=practice.pk).update(state=Membership.State.LAPSED)

    assert not access.is_active_member(staff)
    assert not access.is_active_member(practice.user)


def test_admin_cannot_remove_their_own_seat():
    practice = PracticeMembershipFactory()
    own = Seat.objects.get(membership=practice, user=practice.user)

    with pytest.raises(services.MembershipError):
        services.seat_remove(seat=own, actor=practice.user)
