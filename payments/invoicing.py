"""Numbered invoices, receipts and credit notes, for card payments and for pay by invoice.

Payments knows no capability: membership and conferences call `invoice_issue` for what they
sell (with their lines and a `purpose_key` naming the purchase) and register, per kind, what
happens when an invoice paid by check or ACH is paid in full (`register_invoice_kind`).

Numbers: each series (invoices `2027-00042`, receipts `R2027-00042`, credit notes
`C2027-00042`) has one counter row per year. A document takes its number from that row, bumped
(and so locked) by one upsert in the transaction that writes the document: two issues at once
queue on the row, and an issue that rolls back takes its number back with it, so the sequence
has no gaps and never gives a number twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import (
    BillingProfile,
    CreditNote,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    PayerCredit,
    Receipt,
    format_money,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

Series = DocumentCounter.Series
PREFIX = {Series.INVOICE: "", Series.RECEIPT: "R", Series.CREDIT_NOTE: "C"}


class InvoiceError(Exception):
    """A request the invoicing rules refuse; the message says why, for staff or the payer."""


# --- what happens when an invoice is paid ----------------------------------------------------

PaidHandler = Callable[[Invoice], None]
PartHandler = Callable[[Invoice, Receipt], None]


@dataclass(frozen=True)
class _Kind:
    on_paid: PaidHandler
    on_part_paid: PartHandler | None
    mails_own_receipt: bool


_kinds: dict[str, _Kind] = {}


def register_invoice_kind(
    kind: str,
    *,
    on_paid: PaidHandler,
    mails_own_receipt: bool,
    on_part_paid: PartHandler | None = None,
) -> None:
    """Call `on_paid(invoice)` (in the recording transaction) when an invoice of `kind` paid by
    check or ACH is paid in full, and `on_part_paid(invoice, receipt)` for a payment that
    leaves a balance. `mails_own_receipt`: the app's own confirmation mail carries the receipt
    of the payment that settles it, so payments mails only the partial ones."""
    _kinds[kind] = _Kind(
        on_paid=on_paid, on_part_paid=on_part_paid, mails_own_receipt=mails_own_receipt
    )


# --- numbers ---------------------------------------------------------------------------------


def next_number(series: str, *, year: int) -> str:
    """The next number of `series` for `year`. Must run inside the transaction that writes the
    document: the counter row stays locked until that commits or rolls back, so callers take
    it as late in their transaction as they can (every other issue waits on it till then)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("next_number must run inside the document's transaction")
    # One statement creates the year's counter or bumps it, and locks its row (PostgreSQL and
    # SQLite both have INSERT ... ON CONFLICT ... RETURNING): the ORM would need three.
    table = connection.ops.quote_name(DocumentCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (series, year, last) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (series, year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [series, year],
        )
        last = cursor.fetchone()[0]
    return f"{PREFIX[Series(series)]}{year}-{last:05d}"


# --- issuing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    description: str
    unit_cents: int
    quantity: int = 1
    discount_cents: int = 0  # off the whole line

    @property
    def amount_cents(self) -> int:
        return self.unit_cents * self.quantity - self.discount_cents


@dataclass(frozen=True)
class Billing:
    """The payer as the invoice names them."""

    name: str
    email: str
    organization: str = ""
    address: str = ""
    tax_id: str = ""
    po_number: str = ""

    @classmethod
    def typed_by(cls, user: Any, data: Mapping[str, str]) -> Billing:
        """The payer as a signed-in buyer filled in the pay-by-invoice form."""
        return cls(
            name=user.get_full_name() or user.email,
            email=user.email,
            organization=data["organization"],
            address=data["address"],
            tax_id=data["tax_id"],
            po_number=data["po_number"],
        )


def billing_profile_for(user_id: int) -> BillingProfile:
    """The person's billing profile, unsaved and empty when they never wrote one."""
    profile = BillingProfile.objects.filter(user_id=user_id).first()
    return profile or BillingProfile(user_id=user_id)


def billing_for(user: User, *, po_number: str = "") -> Billing:
    profile = billing_profile_for(user.pk)
    return Billing(
        name=user.get_full_name() or user.email,
        email=user.email,
        organization=profile.organization,
        address=profile.address,
        tax_id=profile.tax_id,
        po_number=po_number,
    )


def tax_rate() -> Decimal | None:
    """The configured rate in percent, or None: no tax. Prices are quoted with the tax in them
    (what a card is charged is what the invoice totals), so the invoice shows the tax part."""
    raw = str(settings.INVOICE_TAX_RATE or "").strip()
    if not raw:
        return None
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        log.error("INVOICE_TAX_RATE %r is not a number; invoices carry no tax", raw)
        return None
    return rate if rate > 0 else None


def tax_part(total_cents: int, rate: Decimal | None) -> int:
    """The tax contained in a tax-inclusive total, to the cent (half up)."""
    if rate is None or total_cents <= 0:
        return 0
    tax = Decimal(total_cents) * rate / (Decimal(100) + rate)
    return int(tax.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def invoice_issue(
    *,
    purpose_key: str,
    kind: str,
    ref: str,
    payer: User,
    lines: Sequence[Line],
    method: str,
    billing: Billing | None = None,
    due_date: date | None = None,
    stripe_invoice_id: str = "",
    stripe_payment_intent_id: str = "",
    now: datetime | None = None,
) -> Invoice:
    """Issue the invoice for a purchase, numbered in this transaction; the one issued before
    for the same `purpose_key` if there is one. Credit the payer holds is taken off an invoice
    to be paid by check or ACH."""
    now = now or timezone.now()
    if not lines:
        raise InvoiceError("An invoice needs at least one line.")
    subtotal = sum(line.unit_cents * line.quantity for line in lines)
    discount = sum(line.discount_cents for line in lines)
    total = subtotal - discount
    if total < 0:
        raise InvoiceError("An invoice cannot total less than nothing.")
    rate = tax_rate()
    local = timezone.localtime(now)
    # No savepoint inside a caller's transaction: nothing below raises for the caller to
    # catch and carry on; a database error spoils the whole transaction either way.
    with transaction.atomic(savepoint=False):
        existing = Invoice.objects.filter(purpose_key=purpose_key).first()
        if existing is not None:
            return existing
        billing = billing or billing_for(payer)
        invoice = Invoice.objects.create(
            number=next_number(Series.INVOICE, year=local.year),
            purpose_key=purpose_key,
            kind=kind,
            ref=ref,
            payer=payer,
            method=method,
            currency=settings.INVOICE_CURRENCY,
            issued_at=now,
            due_date=due_date or local.date(),
            subtotal_cents=subtotal,
            discount_cents=discount,
            tax_name=settings.INVOICE_TAX_NAME if rate is not None else "",
            tax_rate=rate,
            tax_cents=tax_part(total, rate),
            total_cents=total,
            billed_name=billing.name[:200],
            billed_email=billing.email,
            organization=billing.organization[:200],
            billing_address=billing.address,
            tax_id=billing.tax_id[:60],
            po_number=billing.po_number[:60],
            seller_name=settings.INVOICE_SELLER_NAME,
            seller_address=settings.INVOICE_SELLER_ADDRESS,
            seller_tax_id=settings.INVOICE_SELLER_TAX_ID,
            payment_instructions=(
                settings.INVOICE_PAYMENT_INSTRUCTIONS if method == Invoice.Method.INVOICE else ""
            ),
            stripe_invoice_id=stripe_invoice_id,
            stripe_payment_intent_id=stripe_payment_intent_id,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=line.description[:300],
                quantity=line.quantity,
                unit_cents=line.unit_cents,
                discount_cents=line.discount_cents,
                amount_cents=line.amount_cents,
            )
            for position, line in enumerate(lines, start=1)
        )
        if method == Invoice.Method.INVOICE:
            _apply_credit(invoice, now=now)
    return invoice


def _apply_credit(invoice: Invoice, *, now: datetime) -> None:
    """Take the payer's unused credit off a new invoice, as a receipt of method "credit"."""
    credits = PayerCredit.objects.select_for_update().filter(
        payer_id=invoice.payer_id, used_on__isnull=True, currency=invoice.currency
    )
    for credit in credits.order_by("pk"):
        if invoice.balance_cents <= 0 or credit.amount_cents > invoice.balance_cents:
            continue  # a credit is used whole, never split
        _receipt(
            invoice,
            source_key=f"credit:{credit.pk}",
            amount_cents=credit.amount_cents,
            method=Receipt.Method.OTHER,
            reference=f"Credit from receipt {credit.receipt.number}",
            received_on=timezone.localtime(now).date(),
            actor=None,
            now=now,
        )
        credit.used_on = invoice
        credit.save(update_fields=["used_on"])


# --- money in --------------------------------------------------------------------------------


def _receipt(
    invoice: Invoice,
    *,
    source_key: str,
    amount_cents: int,
    method: str,
    reference: str,
    received_on: date,
    actor: User | None,
    now: datetime,
    excess_cents: int = 0,
    excess_handling: str = "",
    mail_wanted: bool = True,
) -> Receipt:
    """Write a receipt and add it to its (locked) invoice's paid amount."""
    receipt = Receipt.objects.create(
        number=next_number(Series.RECEIPT, year=timezone.localtime(now).year),
        source_key=source_key,
        invoice=invoice,
        amount_cents=amount_cents,
        currency=invoice.currency,
        method=method,
        reference=reference[:120],
        received_on=received_on,
        excess_cents=excess_cents,
        excess_handling=excess_handling,
        recorded_by=actor,
        created_at=now,
        mail_wanted=mail_wanted,
    )
    invoice.paid_cents += amount_cents - excess_cents
    if invoice.balance_cents <= 0 and invoice.status == Invoice.Status.OPEN:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = now
    invoice.save(update_fields=["paid_cents", "status", "paid_at"])
    if mail_wanted:
        from .tasks import send_receipt  # payments.tasks imports this module

        receipt_id = receipt.pk
        transaction.on_commit(lambda: send_receipt.delay(receipt_id))
    return receipt


def invoice_paid_by_card(
    *,
    invoice: Invoice,
    amount_cents: int,
    reference: str,
    source_key: str,
    mail_wanted: bool,
    now: datetime | None = None,
) -> Receipt:
    """The receipt for a card payment Stripe confirmed (once per `source_key`)."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):  # as in invoice_issue
        existing = Receipt.objects.filter(source_key=source_key).first()
        if existing is not None:
            return existing
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        receipt = _receipt(
            locked,
            source_key=source_key,
            amount_cents=amount_cents,
            method=Receipt.Method.CARD,
            reference=reference,
            received_on=timezone.localtime(now).date(),
            actor=None,
            now=now,
            mail_wanted=mail_wanted,
        )
    # The caller's copy as it stands now (read under the lock), without reading it again.
    for field in Invoice._meta.concrete_fields:
        setattr(invoice, field.attname, getattr(locked, field.attname))
    return receipt


@dataclass(frozen=True)
class RecordedPayment:
    receipt: Receipt
    invoice: Invoice
    settled: bool  # this payment paid the invoice in full


def payment_record_offline(
    *,
    invoice_id: int,
    amount_cents: int,
    currency: str,
    method: str,
    reference: str,
    received_on: date,
    actor: User,
    key: str,
    excess: str = "",
    now: datetime | None = None,
) -> RecordedPayment:
    """Record a check or transfer staff received against an invoice paid by invoice.

    Refused with InvoiceError (nothing written): another currency, nothing or less than
    nothing, a closed invoice, a date in the future, or more than the balance unless staff say
    what happens to the excess (`excess`: refund it, or keep it as the payer's credit).
    `key` comes from the form staff filled in, so a second submit records nothing more. A
    payment that leaves a balance keeps the invoice due; the one that pays it in full hands it
    to its kind's handler (the membership activates, the order confirms) in this transaction.
    """
    now = now or timezone.now()
    if method not in Receipt.Method.values or method == Receipt.Method.CARD:
        raise InvoiceError("Choose how the payment was made: check, ACH, wire or other.")
    if amount_cents <= 0:
        raise InvoiceError("The amount must be more than zero.")
    if received_on > timezone.localtime(now).date():
        raise InvoiceError("The payment date cannot be in the future.")
    if excess not in Receipt.Excess.values:
        raise InvoiceError("Choose what to do with the excess: refund or credit.")
    source_key = f"offline:{invoice_id}:{key}"[:120]
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None:
            raise InvoiceError("There is no such invoice.")
        repeated = Receipt.objects.filter(source_key=source_key).first()
        if repeated is not None:
            return RecordedPayment(receipt=repeated, invoice=invoice, settled=False)
        if currency.lower() != invoice.currency:
            raise InvoiceError(
                f"Invoice {invoice.number} is in {invoice.currency.upper()}; a payment in "
                f"{currency.upper()} cannot be recorded against it."
            )
        if invoice.status != Invoice.Status.OPEN:
            raise InvoiceError(
                f"Invoice {invoice.number} is {invoice.get_status_display().lower()}: "
                "there is nothing left to pay."
            )
        if invoice.method != Invoice.Method.INVOICE:
            raise InvoiceError(f"Invoice {invoice.number} is paid by card through Stripe.")
        balance = invoice.balance_cents
        over = max(amount_cents - balance, 0)
        if over and not excess:
            raise InvoiceError(
                f"{format_money(amount_cents, invoice.currency)} is more than the balance of "
                f"{format_money(balance, invoice.currency)} on invoice {invoice.number}. "
                "Record the balance, or choose to refund or credit the excess."
            )
        kind = _kinds.get(invoice.kind)
        settles = amount_cents >= balance
        receipt = _receipt(
            invoice,
            source_key=source_key,
            amount_cents=amount_cents,
            method=method,
            reference=reference,
            received_on=received_on,
            actor=actor,
            now=now,
            excess_cents=over,
            excess_handling=excess if over else "",
            mail_wanted=not (settles and kind is not None and kind.mails_own_receipt),
        )
        if over and excess == Receipt.Excess.CREDIT:
            PayerCredit.objects.create(
                payer_id=invoice.payer_id,
                receipt=receipt,
                amount_cents=over,
                currency=invoice.currency,
                created_at=now,
            )
        elif over:
            _credit_note(
                invoice,
                source_key=f"overpayment:{receipt.pk}",
                amount_cents=over,
                reason=CreditNote.Reason.OVERPAYMENT,
                note=f"Excess of receipt {receipt.number}, to be paid back",
                now=now,
                counts_against_invoice=False,
            )
        if kind is None:
            log.error("invoice %s of kind %r paid; no handler", invoice.number, invoice.kind)
        elif settles:
            kind.on_paid(invoice)
        elif kind.on_part_paid is not None:
            kind.on_part_paid(invoice, receipt)
    return RecordedPayment(receipt=receipt, invoice=invoice, settled=settles)


# --- money out -------------------------------------------------------------------------------


def _credit_note(
    invoice: Invoice,
    *,
    source_key: str,
    amount_cents: int,
    reason: str,
    note: str,
    now: datetime,
    counts_against_invoice: bool = True,
) -> CreditNote:
    credit = CreditNote.objects.create(
        number=next_number(Series.CREDIT_NOTE, year=timezone.localtime(now).year),
        source_key=source_key,
        invoice=invoice,
        reason=reason,
        note=note[:300],
        amount_cents=amount_cents,
        currency=invoice.currency,
        issued_at=now,
    )
    if counts_against_invoice:
        invoice.credited_cents += amount_cents
        invoice.save(update_fields=["credited_cents"])
    return credit


def invoice_refund(
    *,
    purpose_key: str,
    amount_cents: int,
    source_key: str,
    note: str = "",
    now: datetime | None = None,
) -> CreditNote | None:
    """The credit note for money given back on the purchase's invoice (once per
    `source_key`); None when the purchase has no invoice or the amount is nothing."""
    now = now or timezone.now()
    if amount_cents <= 0:
        return None
    with transaction.atomic():
        existing = CreditNote.objects.filter(source_key=source_key).first()
        if existing is not None:
            return existing
        invoice = Invoice.objects.select_for_update().filter(purpose_key=purpose_key).first()
        if invoice is None:
            return None
        return _credit_note(
            invoice,
            source_key=source_key,
            amount_cents=amount_cents,
            reason=CreditNote.Reason.REFUND,
            note=note or "Refund",
            now=now,
        )


def invoice_cancel(
    *, purpose_key: str, note: str, now: datetime | None = None
) -> CreditNote | None:
    """Close an unpaid invoice whose purchase ended (a hold that lapsed, an order canceled):
    a credit note for its balance. Money already received stays on its receipts, listed
    for staff to give back. None when there is no open invoice."""
    now = now or timezone.now()
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update()
            .filter(purpose_key=purpose_key, status=Invoice.Status.OPEN)
            .first()
        )
        if invoice is None:
            return None
        credit = None
        if invoice.balance_cents > 0:
            credit = _credit_note(
                invoice,
                source_key=f"cancel:{invoice.pk}",
                amount_cents=invoice.balance_cents,
                reason=CreditNote.Reason.CANCELED,
                note=note,
                now=now,
            )
        invoice.status = Invoice.Status.CANCELED
        invoice.canceled_at = now
        invoice.save(update_fields=["status", "canceled_at"])
        if invoice.paid_cents:
            log.warning(
                "invoice %s canceled with %s received: to be given back",
                invoice.number,
                invoice.money(invoice.paid_cents),
            )
    return credit


# --- reading ---------------------------------------------------------------------------------


def invoice_for_purpose(purpose_key: str) -> Invoice | None:
    return Invoice.objects.filter(purpose_key=purpose_key).first()


def end_of_day(day: date) -> datetime:
    """The last moment of `day` in the site's time zone."""
    start = timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()))
    return start - timedelta(microseconds=1)


def invoices_to_remind(*, today: date | None = None) -> list[int]:
    """Open invoices paid by invoice whose due date has come and that were not reminded."""
    today = today or timezone.localdate()
    return list(
        Invoice.objects.filter(
            status=Invoice.Status.OPEN,
            method=Invoice.Method.INVOICE,
            due_date__lte=today,
            reminded_at__isnull=True,
        ).values_list("pk", flat=True)
    )
