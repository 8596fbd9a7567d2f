"""Invoices, receipts and credit notes as PDF (read back with pypdf), who may download them,
the receipt mail with its PDFs, and the billing details form."""

import io

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from conferences import services as conferences
from conferences.services import AttendeeSpec
from conferences.tasks import _receipt
from payments import invoicing, tasks
from payments.models import BillingProfile, Invoice, Receipt
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def paid_order():
    conference = ConferencePageFactory(capacity=10, title="Revenue Cycle Summit")
    ticket = TicketTypeFactory(
        conference=conference, name="Full pass", non_member_price_cents=55_250
    )
    owner = UserFactory(first_name="Rosa", last_name="Park")
    BillingProfile.objects.create(
        user=owner, organization="Lakeside Family Practice", address="12 Elm St\nDuluth, MN"
    )
    order = conferences.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(first_name=n, last_name="Diaz", email=f"{n}@x.example",
                         ticket_type_id=ticket.pk)
            for n in ("Ana", "Ben")
        ],
    )  # fmt: skip
    conferences.order_mark_paid(order_id=order.pk, payment_intent_id="pi_3abcdefgh")
    order.refresh_from_db()
    return order


def test_the_invoice_pdf_carries_its_number_lines_and_totals(paid_order, settings):
    invoice = Invoice.objects.get()
    client = _client(paid_order.owner)
    response = client.get(reverse("billing:invoice-pdf", args=[invoice.number]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _text(response.content)
    assert f"Invoice {invoice.number}" in text
    assert "Revenue Cycle Summit: Full pass, Ana Diaz" in text
    assert "Revenue Cycle Summit: Full pass, Ben Diaz" in text
    assert "$552.50" in text and "$1,105.00" in text
    assert "Lakeside Family Practice" in text and "Rosa Park" in text
    assert settings.INVOICE_SELLER_NAME in text and settings.INVOICE_SELLER_TAX_ID in text
    assert "Paid" in text and "Balance" in text and "$0.00" in text


def test_the_receipt_and_credit_note_pdfs_reference_their_invoice(paid_order):
    invoice = Invoice.objects.get()
    receipt = Receipt.objects.get()
    client = _client(paid_order.owner)
    text = _text(client.get(reverse("billing:receipt-pdf", args=[receipt.number])).content)
    assert f"Receipt {receipt.number}" in text and invoice.number in text and "$1,105.00" in text
    conferences.order_cancel(order_id=paid_order.pk, by_user=StaffFactory())
    credit = invoice.credit_notes.get()
    text = _text(client.get(reverse("billing:credit-note-pdf", args=[credit.number])).content)
    assert f"Credit note {credit.number}" in text
    assert f"Credits invoice: {invoice.number}" in text and "-$1,105.00" in text


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_only_the_payer_downloads_others_get_a_404_and_staff_the_admin(paid_order, mfa_client):
    invoice = Invoice.objects.get()
    url = reverse("billing:invoice-pdf", args=[invoice.number])
    from django.test import Client

    assert Client().get(url).status_code == 302  # anonymous: to the login page
    assert _client(UserFactory()).get(url).status_code == 404  # not a member, not theirs
    assert _client(MemberFactory()).get(url).status_code == 404  # a member, not theirs
    assert (
        _client(paid_order.owner)
        .get(reverse("billing:invoice-pdf", args=["2026-99999"]))
        .status_code
        == 404
    )
    staff = StaffFactory(is_superuser=True)
    admin_url = reverse("invoices:pdf", args=["invoice", invoice.number])
    response = _client(staff).get(url)
    assert response.status_code == 302 and response["Location"] == admin_url
    # The admin's copy is behind the staff area's second factor.
    assert _client(staff).get(admin_url).status_code != 200
    response = mfa_client(staff).get(admin_url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert mfa_client(staff).get(reverse("invoices:pdf", args=["nope", "x"])).status_code == 404


def test_the_order_receipt_mail_carries_the_invoice_and_receipt_pdfs(paid_order):
    message = _receipt(paid_order)
    names = [a[0] for a in message.attachments]
    invoice, receipt = Invoice.objects.get(), Receipt.objects.get()
    assert names == [f"invoice-{invoice.number}.pdf", f"receipt-{receipt.number}.pdf"]
    assert f"Invoice {invoice.number}" in _text(message.attachments[0][1])


def test_a_recorded_payment_mails_its_receipt_once_with_the_pdfs():
    payer = UserFactory()
    invoice = invoicing.invoice_issue(
        purpose_key="x", kind="test", ref="x", payer=payer,
        lines=[invoicing.Line("Dues", 19_500)], method=Invoice.Method.INVOICE,
    )  # fmt: skip
    recorded = invoicing.payment_record_offline(
        invoice_id=invoice.pk, amount_cents=5_000, currency="USD", method="check",
        reference="4411", received_on=timezone.localdate(), actor=StaffFactory(), key="a",
    )  # fmt: skip
    assert tasks.send_receipt.run(recorded.receipt.pk) is True
    assert tasks.send_receipt.run(recorded.receipt.pk) is False  # a retried task sends nothing
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [payer.email] and recorded.receipt.number in message.subject
    assert [a[0] for a in message.attachments] == [
        f"receipt-{recorded.receipt.number}.pdf",
        f"invoice-{invoice.number}.pdf",
    ]
    assert "$145.00" in message.body  # the balance left


def test_billing_details_are_saved_and_bad_input_changes_nothing():
    user = UserFactory()
    client = _client(user)
    url = reverse("billing:documents")
    assert client.get(url).status_code == 200
    response = client.post(url, {"organization": "x" * 500, "address": "", "tax_id": ""})
    assert response.status_code == 400 and not BillingProfile.objects.exists()
    response = client.post(url, {"organization": "Lakeside", "address": "1 Main", "tax_id": "12"})
    assert response.status_code == 302
    assert BillingProfile.objects.get(user=user).organization == "Lakeside"
