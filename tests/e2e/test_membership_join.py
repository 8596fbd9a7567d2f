"""A new visitor becomes a member in Chromium, with every part real: allauth sign-up, the
verification link from the mail the SMTP test server received, Checkout on the Stripe stand-in
with 4242, the signed webhook, the worker, and the member pages."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect
from wagtail.models import Page

from membership import access
from tests.conftest import screenshot, wait_for

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


def test_new_visitor_joins_pays_with_4242_and_reads_as_a_member(
    browser_page, live_server, smtp_server, stripe_standin, demo_site, celery_worker
):
    page = browser_page
    article, title = members_only_article()
    gate = "for NORM members"
    open_article(page, article)
    expect(page.locator("#gate-title")).to_contain_text(gate)

    # Home → "Become a member" → choose a plan → sign up.
    page.goto("/")
    page.locator(".hero").get_by_role("link", name="Become a member").click()
    page.wait_for_url("**/membership/join/")
    screenshot(page, "membership-join")
    page.get_by_role("link", name="Choose Individual").click()
    page.wait_for_url("**/accounts/signup/**")
    page.locator("#id_email").fill(EMAIL)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    screenshot(page, "membership-signup")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    screenshot(page, "membership-verification-sent")

    # The verification link, from the mail the SMTP server received.
    mail = smtp_server.wait_for(1)[0]
    assert mail.rcpt_tos == [EMAIL]
    body = mail.message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", body).group(0)
    assert link.startswith(live_server.url)
    page.goto(link)
    page.get_by_role("button", name="Confirm my email").click()

    # Back to the plan, then Stripe Checkout (the stand-in's hosted page).
    page.wait_for_url(re.compile(r".*/membership/join/.*"))
    if not page.url.endswith("/join/individual/"):
        page.get_by_role("link", name="Choose Individual").click()
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(f"{stripe_standin.url}/checkout/**")
    assert "$195.00" in page.content()
    page.locator("#card").fill("4242 4242 4242 4242")
    page.locator("#exp").fill("12 / 34")
    page.locator("#cvc").fill("123")
    screenshot(page, "membership-checkout")
    page.get_by_role("button", name="Pay and subscribe").click()

    # Back at the portal: the webhook and the worker make the membership active.
    page.wait_for_url("**/membership/account/", timeout=30_000)
    expect(page.locator(".page-head .status")).to_have_text("Active member")
    expect(page.locator("#membership")).to_contain_text("Individual")
    wait_for(lambda: page.reload() and "View receipt" in page.content(), timeout=20)
    screenshot(page, "membership-account-active")

    user = get_user_model().objects.get(email=EMAIL)
    assert access.is_active_member(user)

    page.goto("/membership/directory/")
    expect(page.get_by_role("heading", name="Member directory")).to_be_visible()
    assert page.locator(".person").count() >= 2  # the demo colleagues who opted in
    screenshot(page, "membership-directory")
    open_article(page, article)
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()
    expect(page.locator("#gate-title")).to_have_count(0)
    assert gate not in page.content()
    screenshot(page, "membership-members-only-article")
