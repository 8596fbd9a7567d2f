"""The accountant's CSVs: by date range, formula-safe, a summary by month, staff only."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from payments import exports, invoicing
from payments.models import Invoice
from tests.factories import MemberFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_a_spreadsheet_would_run_are_prefixed(start):
    assert exports.safe_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"
    assert exports.safe_cell("Lakeside") == "Lakeside"


@pytest.fixture
def books():
    payer = UserFactory(first_name="=cmd", last_name="|' /C calc")
    invoice = invoicing.invoice_issue(
        purpose_key="a", kind="test", ref="a", payer=payer,
        lines=[invoicing.Line("Dues", 19_500)], method=Invoice.Method.INVOICE,
        billing=invoicing.Billing(name="=cmd|' /C calc'!A0", email=payer.email,
                                  organization="@SUM(A1)", po_number="+1"),
    )  # fmt: skip
    invoicing.payment_record_offline(
        invoice_id=invoice.pk, amount_cents=19_500, currency="usd", method="check",
        reference="-4411", received_on=timezone.localdate(), actor=StaffFactory(), key="k",
    )  # fmt: skip
    invoicing.invoice_refund(purpose_key="a", amount_cents=5_000, source_key="r1", note="Partial")
    old = invoicing.invoice_issue(
        purpose_key="old", kind="test", ref="old", payer=payer,
        lines=[invoicing.Line("Dues", 100)], method=Invoice.Method.CARD,
        now=timezone.now() - timedelta(days=400),
    )  # fmt: skip
    return invoice, old


def _rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_each_export_lists_its_range_only_and_is_formula_safe(books):
    invoice, _old = books
    today = timezone.localdate()
    rows = _rows(exports.csv_text("invoices", today - timedelta(days=7), today))
    assert [r[0] for r in rows[1:]] == [invoice.number]  # last year's invoice is out of range
    assert "'=cmd|' /C calc'!A0" in rows[1] and "'@SUM(A1)" in rows[1] and "'+1" in rows[1]
    payments = _rows(exports.csv_text("payments", today, today))
    assert payments[1][2] == invoice.number and payments[1][6] == "'-4411"
    assert payments[1][7] == "195.00"
    refunds = _rows(exports.csv_text("refunds", today, today))
    assert len(refunds) == 2 and refunds[1][6] == "50.00"
    assert len(_rows(exports.csv_text("credit-notes", today, today))) == 2
    summary = _rows(exports.csv_text("summary", today - timedelta(days=500), today))
    assert summary[0][0] == "month"
    months = {r[0]: r for r in summary[1:]}
    this = months[today.strftime("%Y-%m")]
    assert this[1:] == ["195.00", "195.00", "50.00", "0.00", "145.00"]
    assert len(months) == 2  # and the month of the old card invoice


def test_the_export_page_is_staff_only_and_refuses_bad_ranges(books, mfa_client):
    url = reverse("invoice-exports:index")
    assert Client().get(url).status_code == 302
    member = Client()
    member.force_login(MemberFactory())
    assert member.get(url).status_code in (302, 403)
    staff = mfa_client(StaffFactory(is_superuser=True))
    assert staff.get(url).status_code == 200
    today = timezone.localdate()
    bad = staff.get(url, {"kind": "payments", "start": today, "end": today - timedelta(days=1)})
    assert bad.status_code == 400
    assert staff.get(url, {"kind": "nope", "start": today, "end": today}).status_code == 400
    assert staff.get(url, {"kind": "payments", "start": "x", "end": today}).status_code == 400
    response = staff.get(url, {"kind": "payments", "start": today, "end": today})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert books[0].number in response.content.decode()


def test_staff_lists_of_invoices_receipts_and_credit_notes(books, mfa_client):
    staff = mfa_client(StaffFactory(is_superuser=True))
    invoice = books[0]
    inspect = f"/admin/invoices/inspect/{invoice.pk}/"
    lists = ["/admin/invoices/", "/admin/receipts/", "/admin/credit-notes/"]
    for url in [*lists, inspect, "/admin/invoices/?status=open"]:
        response = staff.get(url)
        assert response.status_code == 200, url
    page = staff.get(f"/admin/invoices/inspect/{invoice.pk}/").content.decode()
    assert invoice.number in page and invoice.receipts.get().number in page
    # Documents are never edited or deleted in the admin.
    assert staff.get(f"/admin/invoices/edit/{invoice.pk}/").status_code in (302, 403)
    assert staff.get(f"/admin/invoices/delete/{invoice.pk}/").status_code in (302, 403)
