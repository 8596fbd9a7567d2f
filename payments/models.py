"""Stripe's webhook events as they arrived: each stored once, then applied by the app that owns
the purchase. Every write goes through `payments.services`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KT
from django.db.models.functions import Now
from django.utils import timezone


class StripeEvent(models.Model):
    """A webhook event, stored once by its Stripe id before it is applied.

    An event whose apply fails is tried again after a growing delay (`next_attempt_at`), up to
    STRIPE_EVENT_MAX_ATTEMPTS tries; then it is parked (`failed_at`) until staff retry it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be applied"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed: waiting for staff"

    id = models.CharField(max_length=80, primary_key=True)
    type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=80, blank=True)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    # The database's clock, which the applies compare with (payments.services): the web and
    # worker hosts' clocks may disagree.
    received_at = models.DateTimeField(db_default=Now())
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Not tried again before this time."
    )
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was given up on, after its last attempt."
    )
    payload = models.JSONField()
    covered_by = models.CharField(
        max_length=80,
        blank=True,
        default="",
        help_text="Applied by the re-read for this event (same object, read after this arrived).",
    )

    class Meta:
        # The table membership created before payments was its own app; the rows stayed put.
        db_table = "membership_stripeevent"
        indexes = [
            models.Index(fields=["processed_at", "received_at"]),
            # The events about one object still to apply (those an apply's read covers).
            models.Index(
                fields=["object_id", "received_at"],
                name="stripeevent_object_pending",
                condition=models.Q(processed_at__isnull=True),
            ),
            # The pending events of the Checkout Session that started a subscription.
            models.Index(
                KT("payload__data__object__subscription"),
                name="stripeevent_session_pending",
                condition=models.Q(processed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"

    @property
    def status(self) -> str:
        if self.processed_at is not None:
            return self.Status.APPLIED
        if self.failed_at is not None:
            return self.Status.FAILED
        return self.Status.PENDING


# --- Numbered documents: invoices, receipts, credit notes ----------------------------------------
# Written only by payments.invoicing; a document's number is taken from its series' counter
# for the year in the transaction that creates it, so numbers have no gaps and never repeat.


def format_money(cents: int, currency: str = "usd") -> str:
    sign = "-" if cents < 0 else ""
    symbol = "$" if currency.lower() == "usd" else f"{currency.upper()} "
    return f"{sign}{symbol}{abs(cents) / 100:,.2f}"


class DocumentCounter(models.Model):
    """The last number given in one series (invoices, receipts, credit notes) in one year.

    Bumped (and so row-locked) while a document is numbered, so two issues queue: the second
    reads the first's number only after it committed, or the number rolled back."""

    class Series(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        RECEIPT = "receipt", "Receipt"
        CREDIT_NOTE = "credit_note", "Credit note"

    series = models.CharField(max_length=20, choices=Series.choices)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="one_counter_per_series_year")
        ]

    def __str__(self) -> str:
        return f"{self.series} {self.year}: {self.last}"


class BillingProfile(models.Model):
    """What a payer wants on their invoices; copied onto each invoice when it is issued."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="billing_profile"
    )
    organization = models.CharField(max_length=200, blank=True)
    address = models.TextField("billing address", max_length=600, blank=True)
    tax_id = models.CharField("tax id", max_length=60, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Billing profile of {self.user_id}"


class Invoice(models.Model):
    """A numbered invoice for one purchase (a year of dues, a conference order).

    `purpose_key` names the purchase (unique), so an invoice is issued once however often a
    webhook or a click repeats. Payer and seller details are copies made at issue: an issued
    invoice never changes but for its paid amount and status."""

    class Status(models.TextChoices):
        OPEN = "open", "Due"
        PAID = "paid", "Paid"
        CANCELED = "canceled", "Canceled"

    class Method(models.TextChoices):
        CARD = "card", "Card"
        INVOICE = "invoice", "Pay by invoice (check or ACH)"

    number = models.CharField(max_length=20, unique=True)
    purpose_key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=40, help_text="Who is paid for: membership, conference.")
    ref = models.CharField(max_length=80, help_text="The purchase's id in its app.")
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices"
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    currency = models.CharField(max_length=3, default="usd")
    issued_at = models.DateTimeField(default=timezone.now)
    due_date = models.DateField()
    paid_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    subtotal_cents = models.IntegerField(default=0)
    discount_cents = models.IntegerField(default=0)
    tax_name = models.CharField(max_length=40, blank=True)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    tax_cents = models.IntegerField(default=0)
    total_cents = models.IntegerField(default=0)
    paid_cents = models.IntegerField(default=0)
    credited_cents = models.IntegerField(default=0, help_text="Taken off by credit notes.")
    billed_name = models.CharField(max_length=200)
    billed_email = models.EmailField()
    organization = models.CharField(max_length=200, blank=True)
    billing_address = models.TextField(blank=True)
    tax_id = models.CharField("tax id", max_length=60, blank=True)
    po_number = models.CharField("PO number", max_length=60, blank=True)
    seller_name = models.CharField(max_length=200)
    seller_address = models.TextField()
    seller_tax_id = models.CharField(max_length=60, blank=True)
    payment_instructions = models.TextField(blank=True)
    stripe_invoice_id = models.CharField(max_length=80, blank=True, db_index=True)
    stripe_payment_intent_id = models.CharField(max_length=80, blank=True, db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        indexes = [
            models.Index(fields=["kind", "ref"]),
            models.Index(fields=["status", "due_date"]),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number}"

    @property
    def balance_cents(self) -> int:
        """What is still owed: the total less payments and credit notes."""
        return self.total_cents - self.paid_cents - self.credited_cents

    def money(self, cents: int) -> str:
        return format_money(cents, self.currency)

    @property
    def total_display(self) -> str:
        return self.money(self.total_cents)

    @property
    def balance_display(self) -> str:
        return self.money(max(self.balance_cents, 0))


class InvoiceLine(models.Model):
    """One line: an attendee's ticket or a plan's year of dues, with its discount."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField(default=1)
    unit_cents = models.IntegerField()
    discount_cents = models.IntegerField(default=0)
    amount_cents = models.IntegerField()

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="one_line_per_position")
        ]

    def __str__(self) -> str:
        return self.description


class Receipt(models.Model):
    """Money received against an invoice: a card payment, or a check or transfer staff
    recorded. Each has its own number in the receipt series."""

    class Method(models.TextChoices):
        CARD = "card", "Card"
        CHECK = "check", "Check"
        ACH = "ach", "ACH transfer"
        WIRE = "wire", "Wire transfer"
        OTHER = "other", "Other"

    class Excess(models.TextChoices):
        NONE = "", "No excess"
        REFUND = "refund", "Refund the excess"
        CREDIT = "credit", "Keep the excess as credit"

    number = models.CharField(max_length=20, unique=True)
    source_key = models.CharField(max_length=120, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="receipts")
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    method = models.CharField(max_length=10, choices=Method.choices)
    reference = models.CharField(max_length=120, blank=True, help_text="Check number, trace id.")
    received_on = models.DateField()
    excess_cents = models.PositiveIntegerField(default=0, help_text="Paid beyond the balance.")
    excess_handling = models.CharField(max_length=10, choices=Excess.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    mail_wanted = models.BooleanField(default=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Receipt {self.number}"

    @property
    def amount_display(self) -> str:
        return format_money(self.amount_cents, self.currency)


class CreditNote(models.Model):
    """Takes an amount off an issued invoice: a refund, an invoice canceled unpaid, or an
    overpayment given back. References its invoice; has its own number series."""

    class Reason(models.TextChoices):
        REFUND = "refund", "Refund"
        CANCELED = "canceled", "Canceled unpaid"
        OVERPAYMENT = "overpayment", "Overpayment refunded"

    number = models.CharField(max_length=20, unique=True)
    source_key = models.CharField(max_length=120, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return f"Credit note {self.number}"

    @property
    def amount_display(self) -> str:
        return format_money(self.amount_cents, self.currency)


class PayerCredit(models.Model):
    """Money a payer has with us beyond what they owed (an overpayment staff chose to keep as
    credit); taken off their next invoice when it is issued."""

    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payer_credits"
    )
    receipt = models.OneToOneField(Receipt, on_delete=models.PROTECT, related_name="credit")
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    used_on = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credits_used"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Credit {format_money(self.amount_cents, self.currency)} for {self.payer_id}"
