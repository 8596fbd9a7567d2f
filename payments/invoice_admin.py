"""Staff's side of invoicing in the Wagtail admin: invoices (with their lines, receipts and
credit notes), recording a check or transfer against one, every document as PDF, and the
accountant's exports. Documents are read-only: they change only through payments.invoicing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from wagtail.admin.views.generic import InspectView
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from . import exports, invoicing, pdf
from .forms import RecordPaymentForm
from .models import CreditNote, Invoice, Receipt

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser
    from django.http import HttpRequest
    from django.urls import URLPattern


class _ReadOnly(ModelPermissionPolicy):  # type: ignore[misc]  # Wagtail ships no type hints
    """An issued document is never edited or deleted in the admin."""

    def user_has_permission(self, user: AbstractUser, action: str) -> bool:
        return action == "view" and super().user_has_permission(user, action)


for _model in (Invoice, Receipt, CreditNote):
    register_permission_policy(_model, _ReadOnly(_model))

DOCUMENTS: dict[str, type[Model]] = {
    "invoice": Invoice,
    "receipt": Receipt,
    "credit-note": CreditNote,
}


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def document_pdf(request: HttpRequest, kind: str, number: str) -> HttpResponse:
    _require(request, "payments.view_invoice")
    model = DOCUMENTS.get(kind)
    if model is None or len(number) > 20:
        raise Http404("No such document.")
    document: pdf.Document = get_object_or_404(model, number=number)  # type: ignore[assignment]
    response = HttpResponse(pdf.document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf.filename(document)}"'
    return response


def record_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a check or transfer received against an invoice (staff with change rights)."""
    _require(request, "payments.change_invoice")
    invoice = get_object_or_404(Invoice, pk=pk)
    form = RecordPaymentForm(
        request.POST or None,
        initial={
            "key": uuid.uuid4().hex,
            "currency": invoice.currency.upper(),
            "amount": f"{max(invoice.balance_cents, 0) / 100:.2f}",
        },
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                recorded = invoicing.payment_record_offline(
                    invoice_id=invoice.pk,
                    amount_cents=form.amount_cents,
                    currency=form.cleaned_data["currency"],
                    method=form.cleaned_data["method"],
                    reference=form.cleaned_data["reference"],
                    received_on=form.cleaned_data["received_on"],
                    actor=request.user,  # type: ignore[arg-type]
                    key=form.cleaned_data["key"],
                    excess=form.cleaned_data["excess"],
                )
            except invoicing.InvoiceError as exc:
                form.add_error(None, str(exc))
            else:
                invoice.refresh_from_db()
                messages.success(
                    request,
                    f"Receipt {recorded.receipt.number} recorded; "
                    + (
                        "the invoice is paid."
                        if invoice.status == Invoice.Status.PAID
                        else f"{invoice.balance_display} is still due."
                    ),
                )
                return redirect("invoices:inspect", quote(invoice.pk))
    return TemplateResponse(
        request,
        "payments/admin/record_payment.html",
        {"form": form, "invoice": invoice, "page_title": f"Record a payment: {invoice.number}"},
        status=status,
    )


class ExportForm(forms.Form):
    kind = forms.ChoiceField(
        label="Export",
        choices=[
            ("payments", "Payments received"),
            ("invoices", "Invoices issued"),
            ("credit-notes", "Credit notes"),
            ("refunds", "Refunds"),
            ("summary", "Summary by month"),
        ],
    )
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end date comes before the start date.")
            if end - start > timedelta(days=3660):
                raise forms.ValidationError("Export at most ten years at a time.")
        return data


def export(request: HttpRequest) -> HttpResponse:
    """The accountant's CSVs; a GET with the form's fields downloads one."""
    _require(request, "payments.view_invoice")
    today = timezone.localdate()
    form = ExportForm(request.GET or None, initial={"start": today.replace(day=1), "end": today})
    status = 200
    if request.GET:
        if form.is_valid():
            kind, start, end = (form.cleaned_data[k] for k in ("kind", "start", "end"))
            response = HttpResponse(
                exports.csv_text(kind, start, end), content_type="text/csv; charset=utf-8"
            )
            name = f"{kind}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        status = 400
    return TemplateResponse(
        request,
        "payments/admin/export.html",
        {"form": form, "page_title": "Exports for the accountant"},
        status=status,
    )


class InvoiceInspectView(InspectView):  # type: ignore[misc]  # Wagtail ships no type hints
    template_name = "payments/admin/invoice_inspect.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        invoice: Invoice = self.object
        context["invoice"] = invoice
        context["lines"] = invoice.lines.all()
        context["receipts"] = invoice.receipts.order_by("created_at", "pk")
        context["credit_notes"] = invoice.credit_notes.order_by("issued_at", "pk")
        context["may_record"] = (
            invoice.status == Invoice.Status.OPEN
            and invoice.method == Invoice.Method.INVOICE
            and self.request.user.has_perm("payments.change_invoice")
        )
        return context


class InvoiceViewSet(ModelViewSet):  # type: ignore[misc]  # Wagtail ships no type hints
    """Every invoice, the open ones to pay by invoice first to hand; staff record checks and
    transfers from an invoice's page."""

    model = Invoice
    icon = "doc-full"
    menu_label = "Invoices"
    name = "invoices"
    inspect_view_class = InvoiceInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = [
        "number",
        "billed_name",
        "organization",
        "kind",
        "method",
        "status",
        "total_display",
        "balance_display",
        "due_date",
        "issued_at",
    ]
    list_filter = ["status", "method", "kind", "due_date"]
    search_fields = ["number", "billed_name", "billed_email", "organization", "po_number"]
    ordering = ["-issued_at"]
    form_fields = ["number"]
    inspect_view_fields = [
        "number",
        "status",
        "method",
        "kind",
        "ref",
        "billed_name",
        "billed_email",
        "organization",
        "billing_address",
        "tax_id",
        "po_number",
        "issued_at",
        "due_date",
        "paid_at",
        "total_display",
        "balance_display",
        "stripe_invoice_id",
        "stripe_payment_intent_id",
        "reminded_at",
    ]

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            *super().get_urlpatterns(),
            path("record/<int:pk>/", record_payment, name="record"),
            path("pdf/<str:kind>/<str:number>/", document_pdf, name="pdf"),
        ]


class ReceiptViewSet(ModelViewSet):  # type: ignore[misc]  # Wagtail ships no type hints
    model = Receipt
    icon = "tick"
    menu_label = "Receipts"
    name = "receipts"
    copy_view_enabled = False
    list_display = ["number", "invoice", "method", "amount_display", "reference", "received_on"]
    list_filter = ["method", "received_on", "excess_handling"]
    search_fields = ["number", "reference", "invoice__number"]
    ordering = ["-created_at"]
    form_fields = ["number"]


class CreditNoteViewSet(ModelViewSet):  # type: ignore[misc]  # Wagtail ships no type hints
    model = CreditNote
    icon = "undo"
    menu_label = "Credit notes"
    name = "credit-notes"
    copy_view_enabled = False
    list_display = ["number", "invoice", "reason", "amount_display", "note", "issued_at"]
    list_filter = ["reason", "issued_at"]
    search_fields = ["number", "invoice__number", "note"]
    ordering = ["-issued_at"]
    form_fields = ["number"]


class ExportViewSet(ViewSet):  # type: ignore[misc]  # Wagtail ships no type hints
    """The accountant's CSVs, as one admin page (its menu item is under Payments)."""

    name = "invoice-exports"
    icon = "download"
    menu_label = "Exports"

    def get_urlpatterns(self) -> list[URLPattern]:
        return [path("", export, name="index")]


VIEWSETS = (InvoiceViewSet, ReceiptViewSet, CreditNoteViewSet, ExportViewSet)
