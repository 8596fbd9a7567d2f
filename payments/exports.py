"""Exports for the accountant: payments received, invoices, credit notes and refunds between
two dates as CSV, and a summary by month.

Formula-safe: a cell that starts with = + - @, a tab or a carriage return is prefixed with
an apostrophe, so a spreadsheet shows it as text instead of running it. Amounts are written as
plain decimal numbers (dollars, not cents) that any spreadsheet reads."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from portal.spreadsheet import safe_cell

from .invoicing import end_of_day
from .models import CreditNote, Invoice, Receipt

KINDS = ("payments", "invoices", "credit-notes", "refunds", "summary")


def _amount(cents: int) -> str:
    return f"{cents / 100:.2f}"


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).date().isoformat()
    return value.isoformat()


def _span(field: str, start: date, end: date) -> Q:
    if field.endswith(("_on", "_date")):
        return Q(**{f"{field}__gte": start, f"{field}__lte": end})
    lower = end_of_day(start.fromordinal(start.toordinal() - 1))
    return Q(**{f"{field}__gt": lower, f"{field}__lte": end_of_day(end)})


def _payments(start: date, end: date) -> Iterator[list[Any]]:
    yield ["receipt", "received_on", "invoice", "payer", "organization", "method", "reference",
           "amount", "beyond_balance", "excess_handling", "currency"]  # fmt: skip
    rows = Receipt.objects.filter(_span("received_on", start, end)).select_related("invoice")
    for r in rows.order_by("received_on", "number"):
        yield [r.number, _when(r.received_on), r.invoice.number, r.invoice.billed_name,
               r.invoice.organization, r.get_method_display(), r.reference,
               _amount(r.amount_cents), _amount(r.excess_cents), r.excess_handling,
               r.currency.upper()]  # fmt: skip


def _invoices(start: date, end: date) -> Iterator[list[Any]]:
    yield ["invoice", "issued_on", "due_on", "status", "method", "payer", "email",
           "organization", "tax_id", "po_number", "subtotal", "discount", "tax", "total",
           "paid", "credited", "balance", "currency", "stripe_invoice"]  # fmt: skip
    rows = Invoice.objects.filter(_span("issued_at", start, end))
    for i in rows.order_by("issued_at", "number"):
        yield [i.number, _when(i.issued_at), _when(i.due_date), i.get_status_display(),
               i.get_method_display(), i.billed_name, i.billed_email, i.organization, i.tax_id,
               i.po_number, _amount(i.subtotal_cents), _amount(i.discount_cents),
               _amount(i.tax_cents), _amount(i.total_cents), _amount(i.paid_cents),
               _amount(i.credited_cents), _amount(i.balance_cents), i.currency.upper(),
               i.stripe_invoice_id]  # fmt: skip


def _credit_notes(start: date, end: date, *, refunds_only: bool = False) -> Iterator[list[Any]]:
    yield ["credit_note", "issued_on", "invoice", "payer", "reason", "note", "amount",
           "currency"]  # fmt: skip
    rows = CreditNote.objects.filter(_span("issued_at", start, end)).select_related("invoice")
    if refunds_only:
        rows = rows.filter(reason__in=[CreditNote.Reason.REFUND, CreditNote.Reason.OVERPAYMENT])
    for c in rows.order_by("issued_at", "number"):
        yield [c.number, _when(c.issued_at), c.invoice.number, c.invoice.billed_name,
               c.get_reason_display(), c.note, _amount(c.amount_cents),
               c.currency.upper()]  # fmt: skip


def _summary(start: date, end: date) -> Iterator[list[Any]]:
    """Per month: invoiced, received, refunded, credited unpaid; and the net received."""
    months: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i in Invoice.objects.filter(_span("issued_at", start, end)).only(
        "issued_at", "total_cents"
    ):
        months[_when(i.issued_at)[:7]]["invoiced"] += i.total_cents
    for r in Receipt.objects.filter(_span("received_on", start, end)):
        months[_when(r.received_on)[:7]]["received"] += r.amount_cents
    for c in CreditNote.objects.filter(_span("issued_at", start, end)):
        column = "canceled" if c.reason == CreditNote.Reason.CANCELED else "refunded"
        months[_when(c.issued_at)[:7]][column] += c.amount_cents
    yield ["month", "invoiced", "received", "refunded", "canceled_unpaid", "net_received"]
    for month in sorted(months):
        m = months[month]
        yield [month, _amount(m["invoiced"]), _amount(m["received"]), _amount(m["refunded"]),
               _amount(m["canceled"]), _amount(m["received"] - m["refunded"])]  # fmt: skip


def rows(kind: str, start: date, end: date) -> Iterable[list[Any]]:
    if kind == "payments":
        return _payments(start, end)
    if kind == "invoices":
        return _invoices(start, end)
    if kind == "credit-notes":
        return _credit_notes(start, end)
    if kind == "refunds":
        return _credit_notes(start, end, refunds_only=True)
    if kind == "summary":
        return _summary(start, end)
    raise ValueError(f"no export named {kind!r}")


def csv_text(kind: str, start: date, end: date) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows(kind, start, end):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
