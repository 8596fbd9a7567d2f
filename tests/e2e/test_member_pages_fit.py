"""Every page a member (or a would-be member) uses fits a 360 px phone and passes axe-core, for
each role: a visitor, a person with an account but no membership, a member with payments and a
history, and a practice admin with staff seats. Pages are visited in Chromium as each person,
logged in through the real allauth form."""

from datetime import timedelta

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from membership.models import Payment, Plan, Seat, StateChange
from tests.conftest import screenshot
from tests.e2e.page_checks import NARROW_PHONE, axe_violations, describe, overflow_px
from tests.factories import (
    TEST_PASSWORD,
    TOTP_SECRET,
    MemberFactory,
    PracticeMembershipFactory,
    UserFactory,
    totp_code,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Pages everyone may open; then the account pages of anyone logged in.
PUBLIC = ["/membership/", "/membership/join/", "/discussions/"]
ANONYMOUS = [
    *PUBLIC,
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/membership/join/{practice}/",  # a visitor is sent to sign up first
]
LOGGED_IN = [
    *PUBLIC,
    "/membership/account/",
    "/membership/account/profile/",
    "/membership/account/delete/",
    "/membership/directory/",  # members see it; anyone else is told it is for members
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/accounts/2fa/totp/activate/",
]
NON_MEMBER = [*LOGGED_IN, "/membership/join/{individual}/", "/membership/join/{practice}/"]
MEMBER = [
    *LOGGED_IN,
    "/membership/welcome/profile/",
    "/accounts/2fa/recovery-codes/",
    "/accounts/2fa/totp/deactivate/",
]
PRACTICE_ADMIN = [*LOGGED_IN, "/membership/account/#practice"]


def log_in(page, email):
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/accounts/2fa/authenticate/" in page.url:
        page.locator("#id_code").fill(totp_code())
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/2fa/authenticate/" not in url)


def member_with_history():
    """A member as Stripe leaves one: a customer, receipts with long numbers, a history whose
    reasons carry Stripe's ids (which the page must not show)."""
    user = MemberFactory(
        email="margaret.oconnell-whitfield@rheumatology-partners.example.org",
        first_name="Margaret",
        last_name="O'Connell-Whitfield",
        membership__stripe_customer_id="cus_Q1w2E3r4T5y6U7",
        membership__stripe_subscription_id="sub_1PqR2sT3uV4wX5yZ",
    )
    membership = user.memberships.get()
    for months in range(3):
        Payment.objects.create(
            membership=membership,
            stripe_invoice_id=f"in_1Abcdefghij{months}",
            stripe_payment_intent_id=f"pi_3Klmnopqrst{months}",
            number=f"GUILDHALL-2026-000{months}",
            status=Payment.Status.PAID,
            amount_cents=19500,
            paid_at=timezone.now() - timedelta(days=30 * months),
            hosted_invoice_url="http://127.0.0.1:9/invoice",
            invoice_pdf_url="http://127.0.0.1:9/invoice.pdf",
        )
    for reason in (
        "Stripe subscription sub_1PqR2sT3uV4wX5yZ is active",
        "renewal payment failed (subscription sub_1PqR2sT3uV4wX5yZ is past_due)",
        "dues refunded in full (invoice in_1Abcdefghij0)",
    ):
        StateChange.objects.create(
            membership=membership, from_state="active", to_state="active", reason=reason
        )
    TOTP.activate(user, TOTP_SECRET)
    RecoveryCodes.activate(user)
    return user


def practice_admin():
    membership = PracticeMembershipFactory(
        user=UserFactory(email="office.manager@northshore-arthritis-clinic.example.org"),
        practice__name="North Shore Arthritis and Rheumatology Associates",
    )
    for n in range(2):
        Seat.objects.create(
            membership=membership,
            email=f"front.desk.coordinator.{n}@northshore-arthritis-clinic.example.org",
            invited_by=membership.user,
        )
    return membership.user


def check_pages(page, paths, role, problems):
    plans = {p.slug: p for p in Plan.objects.filter(is_active=True)}
    slugs = {
        "individual": next(s for s, p in plans.items() if not p.is_practice),
        "practice": next(s for s, p in plans.items() if p.is_practice),
    }
    for path in paths:
        url = path.format(**slugs)
        response = page.goto(url)
        status = response.status if response else None
        if status is None or status >= 500:
            problems.append(f"{role} {url}: status {status}")
            continue
        extra = overflow_px(page)
        if extra > 0:
            problems.append(f"{role} {url} ({page.url}): {extra}px wider than 360")
        violations = axe_violations(page)
        if violations:
            problems.append(f"{role} {url} ({page.url}): axe\n{describe(violations)}")
        name = url.strip("/").replace("/", "-").replace("#", "-") or "home"
        screenshot(page, f"fit-360-{role}-{name}")
        if "/accounts/reauthenticate/" in page.url:
            # allauth asks for the password before a security page; check the page behind it.
            page.locator("#id_password").fill(TEST_PASSWORD)
            page.get_by_role("button", name="Confirm").click()
            page.wait_for_url(lambda u: "/accounts/reauthenticate/" not in u)
            if overflow_px(page) > 0:
                problems.append(f"{role} {url} ({page.url}): {overflow_px(page)}px too wide")
            if violations := axe_violations(page):
                problems.append(f"{role} {url} ({page.url}): axe\n{describe(violations)}")
            screenshot(page, f"fit-360-{role}-{name}-confirmed")


def test_member_facing_pages_fit_a_360_px_phone_for_every_role(chromium, live_server, demo_site):
    people = {
        "anonymous": (None, ANONYMOUS),
        "non-member": (UserFactory(email="dana.new@example.org").email, NON_MEMBER),
        "member": (member_with_history().email, MEMBER),
        "practice-admin": (practice_admin().email, PRACTICE_ADMIN),
    }
    problems: list[str] = []
    for role, (email, paths) in people.items():
        context = chromium.new_context(base_url=live_server.url, viewport=NARROW_PHONE)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            if email:
                log_in(page, email)
            check_pages(page, paths, role, problems)
            if role == "member":
                page.goto("/membership/account/")
                html = page.content()
                for stripe_id in ("cus_", "sub_", "in_1", "pi_3"):
                    if stripe_id in html:
                        problems.append(f"member account page shows a Stripe id ({stripe_id})")
        finally:
            context.close()
    assert not problems, "\n".join(problems)
