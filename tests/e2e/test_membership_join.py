"""A new visitor becomes a member in Chromium, at a desk and on a phone, with every part real:
allauth sign-up with her name, the verification link from the mail the SMTP test server
received, Checkout on the Stripe stand-in with 4242, the signed webhook, the worker, the welcome
step that asks for her profile, and the member pages. Every page of ours passes axe-core and
fits the screen."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from playwright.sync_api import expect
from wagtail.models import Page

from membership import access
from membership.models import MemberProfile
from tests.conftest import screenshot, wait_for
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "jordan.lee@example.org"
PASSWORD = "a-long-and-private-passphrase"


def members_only_article():
    """The url and title of a members-only article (the blog decides what that means)."""
    for page in Page.objects.live().specific().iterator():
        if getattr(page, "members_only", False):
            return page.url, page.title
    pytest.fail("the demo has no members-only article: nothing to read once a member")


def open_article(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None, f"no response for the members-only article {url}"
    assert response.status == 200, f"the members-only article {url} answered {response.status}"


def shot(page, size: str, name: str) -> None:
    """Check the page (axe-core, no overflow), then keep a screenshot of it."""
    assert_page_sound(page)
    screenshot(page, f"membership-{size}-{name}")


@pytest.mark.parametrize(("size", "viewport"), [("desk", DESK), ("phone", PHONE)])
def test_new_visitor_joins_pays_with_4242_and_reads_as_a_member(
    browser_page, live_server, smtp_server, stripe_standin, demo_site, celery_worker, size, viewport
):
    page = browser_page
    page.set_viewport_size(viewport)
    article, title = members_only_article()
    gate = "for NORM members"
    open_article(page, article)
    expect(page.locator("#gate-title")).to_contain_text(gate)

    # Home → "Become a member" → choose a plan → sign up with her name.
    page.goto("/")
    page.locator(".hero").get_by_role("link", name="Become a member").click()
    page.wait_for_url("**/membership/join/")
    shot(page, size, "join")
    page.get_by_role("link", name="Choose Individual").click()
    page.wait_for_url("**/accounts/signup/**")
    page.get_by_label("First name").fill("Jordan")
    page.get_by_label("Last name").fill("Lee")
    page.get_by_label("Email address").fill(EMAIL)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    shot(page, size, "signup")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    shot(page, size, "verification-sent")

    # The verification link, from the mail the SMTP server received: it greets her by name and
    # says who is writing.
    mail = smtp_server.wait_for(1)[0]
    assert mail.rcpt_tos == [EMAIL]
    body = mail.message.get_body(preferencelist=("plain",)).get_content()
    assert body.startswith("Dear Jordan,")
    assert settings.ASSOCIATION_NAME in body
    assert "has given your email address" not in body
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", body).group(0)
    assert link.startswith(live_server.url)
    page.goto(link)
    shot(page, size, "confirm-email")
    page.get_by_role("button", name="Confirm my email").click()

    # Back to the plan, then Stripe Checkout (the stand-in's hosted page, not ours: looked at,
    # not checked).
    page.wait_for_url(re.compile(r".*/membership/join/.*"))
    if not page.url.endswith("/join/individual/"):
        page.get_by_role("link", name="Choose Individual").click()
    shot(page, size, "join-plan")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(f"{stripe_standin.url}/checkout/**")
    assert "$195.00" in page.content()
    page.locator("#card").fill("4242 4242 4242 4242")
    page.locator("#exp").fill("12 / 34")
    page.locator("#cvc").fill("123")
    screenshot(page, f"membership-{size}-checkout")
    page.get_by_role("button", name="Pay and subscribe").click()

    # Back at the portal: the webhook and the worker make the membership active, and the
    # welcome step asks for her profile.
    page.wait_for_url("**/membership/welcome/profile/", timeout=30_000)
    expect(page.get_by_role("heading", name="Welcome, Jordan")).to_be_visible()
    expect(page.get_by_label("Last name")).to_have_value("Lee")
    page.get_by_label("Practice", exact=True).fill("Lakeside Rheumatology")
    page.get_by_label("Title").fill("Practice manager")
    page.get_by_label("List me in the member directory").check()
    shot(page, size, "welcome-profile")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/membership/account/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jordan Lee")
    expect(page.locator(".page-head .status")).to_have_text("Active member")
    expect(page.locator("#membership")).to_contain_text("Individual")
    expect(page.locator(".messages")).to_contain_text("Welcome to NORM, Jordan")
    wait_for(lambda: page.reload() and "View receipt" in page.content(), timeout=20)
    # What she reads names no Stripe object (the receipt links go to Stripe's own pages).
    shown = page.locator("body").inner_text()
    expect(page.locator(".history")).to_contain_text("Membership started at checkout")
    for stripe_prefix in ("cus_", "sub_", "in_", "pi_", "cs_", "evt_"):
        found = re.search(rf"\b{stripe_prefix}[A-Za-z0-9]{{6,}}", shown)
        assert not found, shown[max(found.start() - 200, 0) : found.end()]
    shot(page, size, "account-active")

    user = get_user_model().objects.get(email=EMAIL)
    assert access.is_active_member(user)
    assert MemberProfile.objects.get(user=user).in_directory

    page.goto("/membership/directory/")
    expect(page.get_by_role("heading", name="Member directory")).to_be_visible()
    assert page.locator(".person").count() >= 3  # the demo colleagues who opted in, and Jordan
    expect(page.locator(".people")).to_contain_text("Jordan Lee")
    shot(page, size, "directory")
    open_article(page, article)
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()
    expect(page.locator("#gate-title")).to_have_count(0)
    assert gate not in page.content()
    screenshot(page, f"membership-{size}-members-only-article")
