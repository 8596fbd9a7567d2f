"""Joining in the site's own words: sign-up asks the person's name and the site uses it (header,
messages, mail, the account heading); allauth's pages and mail speak like the rest of the site;
after paying, a welcome step asks for the profile; the account history shows no Stripe ids."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from membership.history import member_reason
from membership.models import MemberProfile, StateChange
from portal.celery import app
from tests.conftest import second_factor_client
from tests.factories import (
    TEST_PASSWORD,
    TOTP_SECRET,
    MemberFactory,
    PracticeMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SIGNUP = {
    "first_name": " Dana ",
    "last_name": "Newman",
    "email": "dana.new@example.org",
    "password1": TEST_PASSWORD,
    "password2": TEST_PASSWORD,
}


@pytest.fixture
def mail_now(monkeypatch, django_capture_on_commit_callbacks):
    """Account mail goes out from a worker after the commit; run those jobs in the test."""
    monkeypatch.setitem(app.conf, "task_always_eager", True)

    def run(request):
        with django_capture_on_commit_callbacks(execute=True):
            return request()

    return run


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_sign_up_asks_the_name_and_the_confirmation_mail_names_the_association(mail_now):
    client = Client()
    page = client.get("/accounts/signup/").content.decode()
    assert page.index('id="id_first_name"') < page.index('id="id_email"')
    assert 'autocomplete="given-name"' in page

    response = mail_now(lambda: client.post("/accounts/signup/", SIGNUP))

    assert response.status_code == 302
    user = get_user_model().objects.get(email="dana.new@example.org")
    assert (user.first_name, user.last_name) == ("Dana", "Newman")
    [message] = mail.outbox
    site, short = settings.WAGTAIL_SITE_NAME, settings.ASSOCIATION_SHORT_NAME
    assert message.subject == f"[{short}] Confirm your email address for {site}"
    text = message.body
    assert text.startswith("Dear Dana,")
    assert settings.ASSOCIATION_NAME in text
    assert "/accounts/confirm-email/" in text
    assert "dana.new has given" not in text and "user " not in text
    html = message.alternatives[0][0]
    assert "Dear Dana," in html and settings.ASSOCIATION_NAME in html


def test_sign_up_without_a_name_is_refused_and_makes_no_account():
    response = Client().post("/accounts/signup/", {**SIGNUP, "first_name": "", "last_name": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not get_user_model().objects.filter(email="dana.new@example.org").exists()


def test_logging_in_greets_by_name_and_the_header_shows_it():
    UserFactory(email="dana.new@example.org", first_name="Dana", last_name="Newman")
    client = Client()

    client.post("/accounts/login/", {"login": "dana.new@example.org", "password": TEST_PASSWORD})

    page = client.get("/membership/account/").content.decode()
    assert "Logged in as Dana Newman." in page
    assert "Logged in as</span> Dana Newman" in page
    assert "dana.new<" not in page and "signed in" not in page.lower()


def test_the_account_heading_is_her_name_and_dates_use_the_site_format():
    member = MemberFactory(first_name="Dana", last_name="Newman")
    membership = member.memberships.get()
    membership.current_period_end = datetime(2026, 11, 21, 12, tzinfo=ZoneInfo("UTC"))
    membership.save()

    page = logged_in(member).get("/membership/account/").content.decode()

    assert re.search(r"<h1>\s*Dana Newman\s*</h1>", page)
    assert "Nov 21, 2026" in page
    assert "November 21, 2026" not in page and "Nov. 21" not in page


def test_allauth_pages_speak_like_the_site():
    anonymous = Client()
    login = anonymous.get("/accounts/login/").content.decode()
    assert login.count("Forgot your password?") == 1
    assert "Keep me logged in" in login

    member = UserFactory()
    TOTP.activate(member, TOTP_SECRET)
    pages = {"login": login, "signup": anonymous.get("/accounts/signup/").content.decode()}
    client = logged_in(member)
    for path in ("/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"):
        pages[path] = client.get(path).content.decode()
    pages["reauthenticate"] = client.get("/accounts/2fa/totp/deactivate/", follow=True).content
    pages["reauthenticate"] = pages["reauthenticate"].decode()

    for name, page in pages.items():
        labels = re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)
        assert labels or name == "/accounts/2fa/", name
        assert not [label for label in labels if label.strip().endswith(":")], name
        for title_case in ("Sign In", "Sign Out", "Two-Factor", "Confirm Access", "Remember Me"):
            assert title_case not in page, (name, title_case)
    assert "Two-factor authentication" in pages["/accounts/2fa/"]
    assert "Confirm access" in pages["reauthenticate"]


def test_the_recovery_codes_page_leads_on():
    member = MemberFactory()
    client = second_factor_client(member)
    RecoveryCodes.activate(member)
    # allauth asks for the password again before showing the codes.
    reauthenticate = client.get("/accounts/2fa/recovery-codes/")["Location"]
    client.post(reauthenticate, {"password": TEST_PASSWORD})

    response = client.get("/accounts/2fa/recovery-codes/")
    assert response.status_code == 200, response.get("Location")
    page = response.content.decode()

    assert "Your recovery codes" in page
    assert 'href="/membership/account/">Continue to my account</a>' in page


def test_after_paying_the_welcome_step_asks_for_the_profile_then_shows_the_account():
    member = MemberFactory(first_name="Dana", last_name="Newman")
    client = logged_in(member)

    assert client.get("/membership/welcome/").url == "/membership/welcome/profile/"
    page = client.get("/membership/welcome/profile/").content.decode()
    assert "Welcome, Dana" in page
    assert 'value="Newman"' in page

    response = client.post(
        "/membership/welcome/profile/",
        {
            "first_name": "Dana",
            "last_name": "Newman-Ortiz",
            "practice_name": "Lakeside Rheumatology",
            "job_title": "Practice manager",
            "phone": "",
            "in_directory": "on",
        },
    )

    assert response.url == "/membership/account/"
    profile = MemberProfile.objects.get(user=member)
    assert (profile.practice_name, profile.job_title, profile.in_directory) == (
        "Lakeside Rheumatology",
        "Practice manager",
        True,
    )
    member.refresh_from_db()
    assert member.last_name == "Newman-Ortiz"


def test_the_welcome_step_is_for_members_and_offers_the_practice_name():
    assert logged_in(UserFactory()).get("/membership/welcome/profile/").url == (
        "/membership/account/"
    )
    admin = PracticeMembershipFactory(practice__name="Lakeside Rheumatology").user
    page = logged_in(admin).get("/membership/welcome/profile/").content.decode()
    assert 'value="Lakeside Rheumatology"' in page


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("Stripe subscription sub_1PqR2sT3uV4wX5yZ is active", "Subscription is active"),
        (
            "renewal payment failed (subscription sub_1PqR2sT3uV4wX5yZ is past_due)",
            "Renewal payment failed (subscription is overdue)",
        ),
        ("dues refunded in full (invoice in_1Abcdefghij0)", "Dues refunded in full"),
        ("dues refunded in full (invoice NORM-0042)", "Dues refunded in full (invoice NORM-0042)"),
        ("complimentary until 2026-11-21: board", "Complimentary until Nov 21, 2026: board"),
        ("customer cus_Q1w2E3r4T5 paid pi_3Klmnopqrst", "Customer paid"),
    ],
)
def test_history_reasons_reach_the_member_without_stripe_ids(reason, shown):
    assert member_reason(reason) == shown


def test_the_account_history_shows_no_stripe_ids():
    member = MemberFactory()
    StateChange.objects.create(
        membership=member.memberships.get(),
        to_state="active",
        reason="Stripe subscription sub_1PqR2sT3uV4wX5yZ is active",
    )

    page = logged_in(member).get("/membership/account/").content.decode()

    assert "Subscription is active" in page
    assert "sub_1PqR" not in page
