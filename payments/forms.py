"""Forms for billing details (the payer's) and recording a payment (staff's)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from .models import BillingProfile, Receipt


class BillingProfileForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic
    """What the payer's next invoices say; issued invoices keep what they said."""

    class Meta:
        model = BillingProfile
        fields = ["organization", "address", "tax_id"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        labels = {"organization": "Organization or practice"}


class InvoiceDetailsForm(forms.Form):
    """Asked when a buyer chooses to pay by invoice: what the invoice will name."""

    organization = forms.CharField(label="Organization or practice", max_length=200, required=False)
    address = forms.CharField(
        label="Billing address", max_length=600, widget=forms.Textarea(attrs={"rows": 3})
    )
    tax_id = forms.CharField(label="Tax id", max_length=60, required=False)
    po_number = forms.CharField(label="PO number", max_length=60, required=False)


class RecordPaymentForm(forms.Form):
    """A check or transfer received, as staff record it."""

    amount = forms.DecimalField(
        min_value=Decimal("0.01"), max_digits=10, decimal_places=2, label="Amount"
    )
    currency = forms.CharField(max_length=3, min_length=3, initial="USD")
    method = forms.ChoiceField(
        choices=[(v, label) for v, label in Receipt.Method.choices if v != Receipt.Method.CARD]
    )
    reference = forms.CharField(
        max_length=120, required=False, help_text="Check number or transfer trace id."
    )
    received_on = forms.DateField(
        label="Date received", widget=forms.DateInput(attrs={"type": "date"})
    )
    excess = forms.ChoiceField(
        label="If it is more than the balance",
        choices=[("", "Refuse it"), *[(v, lbl) for v, lbl in Receipt.Excess.choices if v]],
        required=False,
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()

    @property
    def amount_cents(self) -> int:
        return int(self.cleaned_data["amount"] * 100)
