"""A payer's invoices, receipts and credit notes, and their billing details (/billing/)."""

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.documents, name="documents"),
    path("invoices/<str:number>.pdf", views.invoice_pdf, name="invoice-pdf"),
    path("receipts/<str:number>.pdf", views.receipt_pdf, name="receipt-pdf"),
    path("credit-notes/<str:number>.pdf", views.credit_note_pdf, name="credit-note-pdf"),
]
