"""Pay by invoice in Chromium with every part real: a practice manager chooses "Pay by invoice"
for her dues, staff (with their second factor) record her check in the Wagtail admin, a real
worker mails the receipt with its PDFs to the SMTP test server, and she is an active member.
Our pages pass axe-core and fit a desk and a phone."""

import email
import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from membership import access
from membership.models import Membership
from payments.models import Invoice
from tests.conftest import screenshot, wait_for
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound
from tests.factories import TEST_PASSWORD, PlanFactory, StaffFactory, UserFactory, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, user):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(user.email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/accounts/2fa/authenticate/" in page.url:
        page.locator("#id_code").fill(totp_code())
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/2fa/authenticate/" not in url)


def sound_at_both_sizes(page, name: str) -> None:
    for size, viewport in (("phone", PHONE), ("desk", DESK)):
        page.set_viewport_size(viewport)
        assert_page_sound(page)
        screenshot(page, f"invoices-{size}-{name}")


def test_pay_by_invoice_then_staff_record_the_check_and_the_receipt_arrives(
    browser_page, live_server, smtp_server, celery_worker
):
    plan = PlanFactory(invoice_allowed=True, invoice_due_days=30)
    member = UserFactory(first_name="Rosa", last_name="Park", email="rosa@lakeside.example")
    staff = StaffFactory(is_superuser=True, email="office@guildhall.example")
    page = browser_page

    log_in(page, member)
    page.goto(f"/membership/join/{plan.slug}/")
    page.get_by_role("link", name="Pay by invoice").click()
    page.wait_for_url(f"**/membership/join/{plan.slug}/invoice/")
    sound_at_both_sizes(page, "join-invoice")
    page.get_by_label("Organization or practice").fill("Lakeside Family Practice")
    page.get_by_label("Billing address").fill("12 Elm St\nDuluth, MN 55802")
    page.get_by_label("PO number").fill("PO-7781")
    page.get_by_role("button", name="Issue the invoice").click()
    page.wait_for_url("**/membership/account/")
    invoice = Invoice.objects.get()
    expect(page.get_by_test_id("open-invoice")).to_contain_text(invoice.number)
    sound_at_both_sizes(page, "account-invoice-due")
    assert Membership.objects.get(user=member).state == Membership.State.PENDING
    page.goto("/billing/")
    expect(page.get_by_role("cell", name=invoice.number)).to_be_visible()
    sound_at_both_sizes(page, "documents")

    # The office records the check in the admin, behind its second factor.
    log_in(page, staff)
    page.goto(f"/admin/invoices/inspect/{invoice.pk}/")
    page.get_by_role("link", name="Record a payment").click()
    page.get_by_label("Amount").fill("195.00")
    page.get_by_label("Method").select_option("check")
    page.get_by_label("Reference").fill("Check 4411")
    screenshot(page, "invoices-desk-admin-record")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator(".messages")).to_contain_text("the invoice is paid")

    wait_for(lambda: access.is_active_member(member), message="the membership never became active")
    mails = smtp_server.wait_for(2)  # the receipt and the welcome notice
    receipts = [m for m in mails if "Receipt" in m.message["Subject"]]
    assert len(receipts) == 1 and receipts[0].rcpt_tos == [member.email]
    message = email.message_from_bytes(receipts[0].message.as_bytes())
    attached = {
        part.get_filename(): part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_type() == "application/pdf"
    }
    receipt = invoice.receipts.get()
    assert set(attached) == {f"receipt-{receipt.number}.pdf", f"invoice-{invoice.number}.pdf"}
    text = PdfReader(io.BytesIO(attached[f"invoice-{invoice.number}.pdf"])).pages[0].extract_text()
    assert invoice.number in text and "PO-7781" in text and "$195.00" in text

    log_in(page, member)
    page.goto("/membership/account/")
    expect(page.get_by_test_id("open-invoice")).to_have_count(0)
    sound_at_both_sizes(page, "account-paid")


def test_an_order_paid_by_invoice_shows_its_invoice_and_held_seats(browser_page, live_server):
    from conferences import services as conferences
    from conferences.services import AttendeeSpec
    from tests.factories import ConferencePageFactory, TicketTypeFactory

    conference = ConferencePageFactory(capacity=10, invoice_min_total_cents=50_000)
    ticket = TicketTypeFactory(conference=conference, non_member_price_cents=55_250)
    buyer = UserFactory(first_name="Rosa", last_name="Park")
    order = conferences.order_create(
        conference_id=conference.pk,
        owner=buyer,
        attendees=[
            AttendeeSpec(first_name=n, last_name="Diaz", email=f"{n}@x.example",
                         ticket_type_id=ticket.pk)
            for n in ("Ana", "Ben")
        ],
    )  # fmt: skip
    page = browser_page
    log_in(page, buyer)
    page.goto(f"/conferences/orders/{order.code}/")
    page.get_by_role("link", name="Pay by invoice (check or ACH)").click()
    sound_at_both_sizes(page, "order-invoice-form")
    page.get_by_label("Billing address").fill("12 Elm St\nDuluth, MN 55802")
    page.get_by_role("button", name="Issue the invoice").click()
    page.wait_for_url(f"**/conferences/orders/{order.code}/")
    invoice = Invoice.objects.get()
    expect(page.get_by_test_id("invoice-due")).to_contain_text(invoice.number)
    sound_at_both_sizes(page, "order-invoice-due")
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download invoice {invoice.number} (PDF)").click()
    text = PdfReader(download.value.path()).pages[0].extract_text()
    assert invoice.number in text and "$1,105.00" in text
