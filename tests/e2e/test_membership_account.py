"""Accounts in Chromium: a staff member must set up an authenticator app before the admin, and
then logs in with a code; the account pages wear the site's design."""

import pytest

from tests.conftest import screenshot
from tests.factories import TEST_PASSWORD, MemberFactory, StaffFactory, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, email):
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_staff_set_up_two_factor_before_the_admin_then_need_a_code(browser_page, demo_site):
    page = browser_page
    staff = StaffFactory(totp=False, is_superuser=True, email="new.staff@norm.local")
    screenshot_taken = False

    log_in(page, staff.email)
    page.goto("/admin/")
    # allauth asks for the password again before a security change.
    page.wait_for_url("**/accounts/reauthenticate/**")
    assert "Staff accounts need two-factor authentication" in page.content()
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    secret = page.locator("#authenticator_secret").input_value()
    screenshot(page, "membership-staff-mfa-setup")
    screenshot_taken = True
    page.locator("#id_code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    page.goto("/admin/")
    assert page.url.endswith("/admin/")
    assert page.get_by_role("heading", name="Membership").is_visible()  # the dashboard panel
    screenshot(page, "membership-admin-dashboard")

    page.context.clear_cookies()
    log_in(page, staff.email)
    page.wait_for_url("**/accounts/2fa/authenticate/")
    screenshot(page, "membership-staff-mfa-code")
    page.locator("#id_code").fill(totp_code(secret))
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/")
    assert page.url.endswith("/admin/")
    assert screenshot_taken


def test_member_account_pages_use_the_site_design(browser_page, demo_site):
    page = browser_page
    member = MemberFactory(email="reader@example.org")

    log_in(page, member.email)
    page.goto("/accounts/email/")
    card = page.locator("main")
    assert card.evaluate("el => getComputedStyle(el).borderRadius") == "14px"
    assert "reader@example.org" in card.inner_html()
    screenshot(page, "membership-account-email")
    page.goto("/accounts/2fa/")
    screenshot(page, "membership-account-mfa")
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/membership/account/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than a 360px screen"
    screenshot(page, "membership-account-mobile")
