"""Who reaches which staff area, and with what: the table of roles by staff URL groups.

Every role, signed in three ways where it matters: with the second factor used in the session
("2FA"), with an authenticator set up but a session that signed in by password alone
("password"), and with no authenticator at all ("no 2FA"). Each cell is what the portal
answered: 200, 403, "refused" (Wagtail's 403: back to the admin home with "no permission"),
"login" (sent to allauth's login), "set up" (sent to set up an authenticator app) or "code"
(sent to confirm with a code from it).
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from discussions.models import MailingList
from membership.middleware import STAFF_AREAS, staff_area
from tests.conftest import second_factor_client
from tests.factories import (
    TOTP_SECRET,
    ConferencePageFactory,
    MemberFactory,
    PracticeMembershipFactory,
    SessionFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL_GROUPS = [
    "wagtail admin",
    "moderation queue",
    "django admin",
    "attendee list",
    "attendee CSV",
    "roster",
    "check-in",
    "dashboard",
]

# role, sign-in → one status per URL group, in URL_GROUPS' order.
EXPECTED = {
    ("anonymous", "-"): ["login", "login", "login", "login", "login", "login", "login", "login"],
    ("non-member", "no 2FA"): ["login", "login", "login", 403, 403, 403, 403, 403],
    ("member", "no 2FA"): ["login", "login", "login", 403, 403, 403, 403, 403],
    ("practice admin", "no 2FA"): ["login", "login", "login", 403, 403, 403, 403, 403],
    ("editor", "2FA"): [200, "refused", "login", 403, 403, 403, 403, 403],
    ("editor", "password"): ["code", "code", "code", "code", "code", "code", "code", "code"],
    ("editor", "no 2FA"): ["set up"] * 8,
    ("page moderator", "2FA"): [200, "refused", "login", 403, 403, 403, 403, 403],
    ("page moderator", "password"): ["code"] * 8,
    ("page moderator", "no 2FA"): ["set up"] * 8,
    ("list moderator", "2FA"): [200, 200, "login", 403, 403, 403, 403, 403],
    ("list moderator", "password"): ["code"] * 8,
    ("list moderator", "no 2FA"): ["set up"] * 8,
    ("check-in staff", "2FA"): ["login", "login", "login", 403, 403, 403, 200, 403],
    ("check-in staff", "password"): ["code"] * 8,
    ("check-in staff", "no 2FA"): ["set up"] * 8,
    ("staff", "2FA"): ["login", "login", 200, 200, 200, 200, 200, 200],
    ("staff", "password"): ["code"] * 8,
    ("staff", "no 2FA"): ["set up"] * 8,
    ("superuser", "2FA"): [200, 200, 200, 200, 200, 200, 200, 200],
    ("superuser", "password"): ["code"] * 8,
    ("superuser", "no 2FA"): ["set up"] * 8,
}


@pytest.fixture
def urls():
    conference = ConferencePageFactory()
    TicketTypeFactory(conference=conference)
    session = SessionFactory(conference=conference)
    return dict(
        zip(
            URL_GROUPS,
            [
                "/admin/",
                reverse("discussions_moderation"),
                "/django-admin/",
                reverse("conferences:staff-registrations", args=[conference.pk]),
                reverse("conferences:staff-export", args=[conference.pk]),
                reverse("conferences:staff-roster", args=[conference.pk, session.pk]),
                reverse("conferences:staff-checkin", args=[conference.pk]),
                reverse("conferences:staff-dashboard", args=[conference.pk]),
            ],
            strict=True,
        )
    )


def make_user(role: str):
    """A user holding `role` exactly as the portal grants it, and nothing more."""
    if role == "non-member":
        return UserFactory()
    if role == "member":
        return MemberFactory()
    if role == "practice admin":
        return PracticeMembershipFactory().user
    if role == "staff":
        return UserFactory(is_staff=True)
    if role == "superuser":
        return UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    group = {
        "editor": "Editors",
        "page moderator": "Moderators",
        "list moderator": "List moderators",
        "check-in staff": "Check-in staff",
    }[role]
    user.groups.add(Group.objects.get(name=group))
    if role == "list moderator":
        MailingList.objects.get_or_create(name="Billing", slug="billing")[0].moderators.add(user)
    return user


def client_for(role: str, sign_in: str) -> Client:
    from allauth.mfa.totp.internal.auth import TOTP

    client = Client()
    if role == "anonymous":
        return client
    user = make_user(role)
    if sign_in == "2FA":
        return second_factor_client(user, client)
    if sign_in == "password":
        TOTP.activate(user, TOTP_SECRET)
    client.force_login(user)
    return client


def status(response) -> str | int:
    if response.status_code != 302:
        return response.status_code
    location = response["Location"]
    if location == "/admin/":
        return "refused"  # Wagtail's 403: back to the admin home with "no permission"
    for prefix, name in (
        ("/accounts/login/", "login"),
        ("/admin/login/", "login"),
        ("/django-admin/login/", "login"),
        ("/accounts/2fa/totp/activate/", "set up"),
        ("/accounts/2fa/reauthenticate/", "code"),
    ):
        if location.startswith(prefix):
            return name
    return f"302 {location}"


def observed_table(urls) -> dict:
    table = {}
    for role, sign_in in EXPECTED:
        client = client_for(role, sign_in)
        table[role, sign_in] = [status(client.get(urls[group])) for group in URL_GROUPS]
    return table


def test_every_role_over_every_staff_url_group(urls):
    assert observed_table(urls) == EXPECTED


def test_the_table_covers_every_staff_url_group(urls):
    covered = {staff_area(url) for url in urls.values()}
    assert covered == set(STAFF_AREAS)


def test_a_password_session_confirms_with_a_code_and_then_reaches_the_staff_page(urls):
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.factories import totp_code

    staff = UserFactory(is_staff=True)
    TOTP.activate(staff, TOTP_SECRET)
    client = Client()
    client.force_login(staff)  # a session from before the authenticator was set up
    url = urls["attendee list"]

    response = client.get(url)
    assert status(response) == "code"
    response = client.post(response["Location"], {"code": totp_code()})

    assert response.status_code == 302
    assert response["Location"] == url
    assert client.get(url).status_code == 200


def test_check_in_staff_open_the_check_in_screen_from_a_ticket_and_check_in(urls):
    from conferences import services
    from conferences.models import ConferencePage
    from conferences.services import AttendeeSpec

    conference = ConferencePage.objects.get()
    order = services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[
            AttendeeSpec(
                first_name="Ana",
                last_name="Diaz",
                email="ana@clinic.example",
                ticket_type_id=conference.ticket_types.get().pk,
            )
        ],
    )
    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_test")
    code = order.attendees.get().ticket_code
    client = client_for("check-in staff", "2FA")

    response = client.get(reverse("conferences:ticket", args=[code]), follow=True)
    assert response.redirect_chain[-1][0].endswith(f"/staff/check-in/?code={code}")
    response = client.post(urls["check-in"], {"code": code})

    assert "Checked in" in response.content.decode()
    assert order.attendees.get().checked_in_at is not None


def test_the_check_in_role_holds_only_the_check_in_permission():
    group = Group.objects.get(name="Check-in staff")
    assert [p.codename for p in group.permissions.all()] == ["check_in_attendee"]
    assert not Permission.objects.filter(group__name="List moderators").exclude(
        codename="access_admin"
    )
