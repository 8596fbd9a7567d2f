"""Invoices, receipts and credit notes as PDF (portal.pdf draws them, fetching nothing)."""

from __future__ import annotations

from portal.pdf import render_pdf

from .models import CreditNote, Invoice, Receipt

Document = Invoice | Receipt | CreditNote


def invoice_pdf(invoice: Invoice) -> bytes:
    return render_pdf(
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
    return render_pdf(
        "payments/pdf/receipt.html",
        {"receipt": receipt, "invoice": receipt.invoice, "title": "Receipt"},
    )


def credit_note_pdf(credit: CreditNote) -> bytes:
    return render_pdf(
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
