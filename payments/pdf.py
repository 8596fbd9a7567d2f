"""Invoices, receipts and credit notes as PDF, drawn by WeasyPrint from a Django template.

Nothing is fetched while drawing: the fetcher refuses every URL, so a name or address that
looks like a link never makes the server call out, and the fonts are the system's own."""

from __future__ import annotations

import logging
from typing import Any

import weasyprint
from django.template.loader import render_to_string

from .models import CreditNote, Invoice, Receipt

Document = Invoice | Receipt | CreditNote

# WeasyPrint logs every step of every document at INFO; its warnings are what matter.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"PDFs load nothing from outside: {url[:60]}")


def _render(template: str, context: dict[str, Any]) -> bytes:
    html = render_to_string(template, context)
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf


def invoice_pdf(invoice: Invoice) -> bytes:
    return _render(
        "payments/pdf/invoice.html",
        {
            "invoice": invoice,
            "lines": list(invoice.lines.all()),
            "receipts": list(invoice.receipts.order_by("created_at", "pk")),
            "credit_notes": list(invoice.credit_notes.order_by("issued_at", "pk")),
            "title": "Invoice",
        },
    )


def receipt_pdf(receipt: Receipt) -> bytes:
    return _render(
        "payments/pdf/receipt.html",
        {"receipt": receipt, "invoice": receipt.invoice, "title": "Receipt"},
    )


def credit_note_pdf(credit: CreditNote) -> bytes:
    return _render(
        "payments/pdf/credit_note.html",
        {"credit": credit, "invoice": credit.invoice, "title": "Credit note"},
    )


def document_pdf(document: Document) -> bytes:
    if isinstance(document, Invoice):
        return invoice_pdf(document)
    if isinstance(document, Receipt):
        return receipt_pdf(document)
    return credit_note_pdf(document)


def filename(document: Document) -> str:
    word = {Invoice: "invoice", Receipt: "receipt", CreditNote: "credit-note"}[type(document)]
    return f"{word}-{document.number}.pdf"
