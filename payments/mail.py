"""The mail payments sends itself: a receipt, and the reminder on an invoice's due date. Both
carry their documents as PDF attachments."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from portal.mail import render_email

from . import pdf
from .models import Invoice, Receipt


def attach_documents(message: EmailMultiAlternatives, *documents: pdf.Document) -> None:
    for document in documents:
        message.attach(pdf.filename(document), pdf.document_pdf(document), "application/pdf")


def receipt_mail(receipt_id: int) -> EmailMultiAlternatives | None:
    receipt = Receipt.objects.select_related("invoice").filter(pk=receipt_id).first()
    if receipt is None or not receipt.mail_wanted:
        return None
    invoice = receipt.invoice
    message = render_email(
        template="payments/email/receipt",
        subject=f"Receipt {receipt.number} from {settings.WAGTAIL_SITE_NAME}",
        to=[invoice.billed_email],
        context={
            "receipt": receipt,
            "invoice": invoice,
            "documents_url": settings.SITE_URL + reverse("billing:documents"),
        },
    )
    attach_documents(message, receipt, invoice)
    return message


def reminder_mail(invoice_id: int) -> EmailMultiAlternatives | None:
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or invoice.status != Invoice.Status.OPEN or invoice.balance_cents <= 0:
        return None  # paid or canceled before the reminder went out
    message = render_email(
        template="payments/email/invoice_reminder",
        subject=f"Invoice {invoice.number} is due today",
        to=[invoice.billed_email],
        context={
            "invoice": invoice,
            "documents_url": settings.SITE_URL + reverse("billing:documents"),
        },
    )
    attach_documents(message, invoice)
    return message
