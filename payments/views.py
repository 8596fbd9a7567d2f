"""The payer's pages: their invoices, receipts and credit notes, billing details, and each
document as PDF. A document is the payer's alone; staff are sent to the admin's copy, behind
the staff area's second factor; anyone else gets a 404, so numbers reveal nothing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import invoicing, pdf
from .forms import BillingProfileForm
from .models import CreditNote, Invoice, Receipt


@login_required
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest) -> HttpResponse:
    profile = invoicing.billing_profile_for(request.user.pk)  # type: ignore[arg-type]
    form = BillingProfileForm(request.POST or None, instance=profile)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your billing details are saved for your next invoices.")
            return redirect("billing:documents")
        status = 400
    invoices = (
        Invoice.objects.filter(payer_id=request.user.pk)
        .prefetch_related("receipts", "credit_notes")
        .order_by("-issued_at", "-pk")
    )
    return render(
        request, "payments/documents.html", {"form": form, "invoices": invoices}, status=status
    )


def _serve(request: HttpRequest, document: pdf.Document | None, admin_url: str) -> HttpResponse:
    if document is None:
        raise Http404("No such document.")
    invoice = document if isinstance(document, Invoice) else document.invoice
    if invoice.payer_id != request.user.pk:
        if request.user.is_staff:
            return redirect(admin_url)
        raise Http404("No such document.")
    response = HttpResponse(pdf.document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf.filename(document)}"'
    return response


def _find(model: type[Model], number: str) -> pdf.Document | None:
    if len(number) > 20:
        return None
    found: pdf.Document | None = model._default_manager.filter(number=number).first()  # type: ignore[assignment]
    return found


@login_required
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return _serve(
        request, _find(Invoice, number), reverse("invoices:pdf", args=["invoice", number])
    )


@login_required
def receipt_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return _serve(
        request, _find(Receipt, number), reverse("invoices:pdf", args=["receipt", number])
    )


@login_required
def credit_note_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return _serve(
        request,
        _find(CreditNote, number),
        reverse("invoices:pdf", args=["credit-note", number]),
    )
