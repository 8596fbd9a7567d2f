"""One login: allauth's. No other route signs anyone in, resets a password or changes an email,
so allauth's rate limits, verified addresses and second factor always apply."""

import itertools
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize

from tests.conftest import second_factor_client
from tests.factories import TEST_PASSWORD, TOTP_SECRET, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

# Values tried for each argument of a URL pattern, until the path matches the pattern.
SAMPLE_ARGUMENTS = ["1", "x", "live", "x-1", "x/"]


def every_route():
    """(pattern description, a path that reaches it) for every pattern in the URL
    configuration, however deep it is included. Fails on a pattern no sample path matches, so
    a new route cannot slip past the test below."""

    def walk(resolver, prefix):
        for pattern in resolver.url_patterns:
            regex = prefix + pattern.pattern.regex.pattern.lstrip("^")
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, regex)
            else:
                yield pattern, regex

    routes, unbuilt = [], []
    for pattern, regex in walk(get_resolver(), "^"):
        path = _sample_path(regex)
        if path is None:
            unbuilt.append(regex)
        else:
            routes.append((f"{pattern.lookup_str} {regex}", path))
    assert not unbuilt, f"no sample path for {unbuilt}"
    return routes


def _sample_path(regex: str) -> str | None:
    compiled = re.compile(regex)
    # Arguments spelled as a list of words, e.g. (?P<app_label>auth|mfa), take one of them.
    words = [w for group in re.findall(r"\(\?P<\w+>([\w|]+)\)", regex) for w in group.split("|")]
    for template, params in normalize(regex):
        for values in itertools.product(SAMPLE_ARGUMENTS + words[:1], repeat=len(params)):
            path = "/" + template % dict(zip(params, values, strict=True))
            if compiled.fullmatch(path[1:]):
                return path
    return None


def signed_in_user_id(client: Client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def staff_with_authenticator():
    return StaffFactory(is_superuser=True)


def credentials(user) -> dict:
    return {
        "login": user.email,
        "username": user.username,
        "email": user.email,
        "password": TEST_PASSWORD,
        "password1": TEST_PASSWORD,
        "password2": TEST_PASSWORD,
        "remember": "on",
    }


def test_no_route_signs_anyone_in_by_password(staff_with_authenticator):
    # A staff member with an authenticator and a verified address: allauth's own login stops
    # at the second factor, so no route at all may end with this user signed in.
    data = credentials(staff_with_authenticator)
    signed_in = []
    for name, path in every_route():
        client = Client(raise_request_exception=False)
        client.post(path, data)
        if signed_in_user_id(client):
            signed_in.append(name)

    assert signed_in == []


def test_the_walk_reaches_the_routes_that_used_to_sign_in():
    paths = [path for _name, path in every_route()]

    for path in ("/_util/login/", "/admin/login/", "/django-admin/login/", "/accounts/login/"):
        assert path in paths


def test_posting_credentials_does_sign_in_where_allauth_allows_it():
    # The credentials the walk posts work: a member with a verified address and no second
    # factor signs in through allauth's login.
    member = UserFactory()
    client = Client()

    client.post("/accounts/login/", credentials(member))

    assert signed_in_user_id(client) == str(member.pk)


def test_no_view_outside_allauth_is_a_django_login_view():
    offenders = []
    for _name, path in every_route():
        try:
            view = resolve(path).func
        except Resolver404:
            continue
        view_class = getattr(view, "view_class", None)
        if (
            view_class is not None
            and issubclass(view_class, auth_views.LoginView)
            and not view_class.__module__.startswith("allauth.")
        ):
            offenders.append(path)

    # Wagtail's and Django's login views are still routed, but never reached: they redirect.
    for path in offenders:
        response = Client().post(path, {})
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path


def test_wagtail_front_end_login_is_not_a_way_around_the_second_factor():
    staff = StaffFactory(is_superuser=True)
    client = Client()

    response = client.post("/_util/login/", credentials(staff))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert signed_in_user_id(client) is None


def test_wagtail_front_end_login_has_no_unlimited_guessing():
    user = UserFactory()
    client = Client()
    for attempt in range(40):
        client.post("/_util/login/", {**credentials(user), "password": f"wrong-{attempt}"})

    client.post("/_util/login/", credentials(user))

    assert signed_in_user_id(client) is None


def test_an_unverified_address_does_not_sign_in_anywhere():
    unverified = UserFactory(verified_email=False)
    unverified.save()  # the factory saves the password along with the verified address
    for path in ("/_util/login/", "/admin/login/", "/django-admin/login/", "/accounts/login/"):
        client = Client()
        client.post(path, credentials(unverified))
        assert signed_in_user_id(client) is None, path


def test_private_pages_send_readers_to_allauths_login():
    from django.conf import settings

    assert settings.WAGTAIL_FRONTEND_LOGIN_URL == "account_login"
    assert settings.WAGTAILADMIN_LOGIN_URL == "account_login"


def test_admin_password_reset_goes_through_allauth():
    user = StaffFactory(is_superuser=True)

    response = Client().post("/admin/password_reset/", {"email": user.email})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/"
    assert mail.outbox == []


def test_django_admin_password_change_goes_through_allauth():
    client = second_factor_client(StaffFactory(is_superuser=True))

    response = client.get("/django-admin/password_change/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/"


def test_admin_account_page_changes_neither_email_nor_password():
    editor = UserFactory(email="editor@example.org")
    TOTP.activate(editor, TOTP_SECRET)
    editor.groups.add(Group.objects.get(name="Editors"))
    client = second_factor_client(editor)

    page = client.get("/admin/account/").content.decode()
    client.post(
        "/admin/account/",
        {
            "name_email-first_name": "Evan",
            "name_email-last_name": "Brooks",
            "name_email-email": "attacker@example.net",
            "password-old_password": TEST_PASSWORD,
            "password-new_password1": "a-new-long-password-9",
            "password-new_password2": "a-new-long-password-9",
            "locale-preferred_language": "en",
            "locale-current_time_zone": "",
            "theme-theme": "system",
            "theme-density": "default",
            "theme-contrast": "system",
            "theme-keyboard_shortcuts": "on",
        },
    )

    editor.refresh_from_db()
    assert 'name="name_email-email"' not in page
    assert 'name="password-new_password1"' not in page
    assert editor.email == "editor@example.org"
    assert editor.check_password(TEST_PASSWORD)
