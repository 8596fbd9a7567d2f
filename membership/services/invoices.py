"""Dues on numbered invoices: the invoice and receipt for dues paid by card, the credit note
for a refund, and paying by invoice (check or ACH), which keeps the membership pending until
staff record the payment that pays it in full."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from payments import gateway, invoicing
from payments.models import Invoice, Receipt

from ..models import Membership, Plan, StateChange
from .common import MembershipError, State, _lock, _on_enter, _record, access_end

if TYPE_CHECKING:
    pass

KIND = "membership"


def _card_purpose(stripe_invoice_id: str) -> str:
    return f"membership-stripe:{stripe_invoice_id}"


def _one_year_on(day: datetime) -> datetime:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # February 29th
        return day.replace(year=day.year + 1, day=28)


def _dues_line(
    plan: Plan, amount_cents: int, start: date | None, end: date | None
) -> invoicing.Line:
    period = f", {date_format(start)} to {date_format(end)}" if start and end else ""
    unit = max(plan.yearly_price_cents, amount_cents)
    return invoicing.Line(
        description=f"{plan.name} membership, one year{period}",
        unit_cents=unit,
        discount_cents=unit - amount_cents,
    )


def dues_invoice_for_card(
    *, membership: Membership, invoice: gateway.InvoiceData
) -> Invoice | None:
    """Our invoice and receipt for dues Stripe collected (once per Stripe invoice); Stripe's own
    invoice stays linked by its id. Nothing for an invoice of nothing (a free trial)."""
    if invoice.status != gateway.InvoiceStatus.PAID or invoice.amount_paid <= 0:
        return None
    ours = invoicing.invoice_issue(
        purpose_key=_card_purpose(invoice.id),
        kind=KIND,
        ref=str(membership.pk),
        payer=membership.user,
        lines=[
            _dues_line(
                membership.plan,
                invoice.amount_paid,
                timezone.localdate(invoice.period_start) if invoice.period_start else None,
                timezone.localdate(invoice.period_end) if invoice.period_end else None,
            )
        ],
        method=Invoice.Method.CARD,
        stripe_invoice_id=invoice.id,
        stripe_payment_intent_id=invoice.payment_intent or "",
        now=invoice.paid_at or timezone.now(),
    )
    invoicing.invoice_paid_by_card(
        invoice=ours,
        amount_cents=invoice.amount_paid,
        reference=invoice.number or invoice.id,
        source_key=f"stripe-invoice:{invoice.id}",
        mail_wanted=True,
        now=invoice.paid_at or timezone.now(),
    )
    return ours


def dues_credit_for_refund(
    *, stripe_invoice_id: str, charge: gateway.ChargeData, refunded_before: int
) -> None:
    """A credit note on the dues invoice for what this refund gave back beyond earlier ones."""
    invoicing.invoice_refund(
        purpose_key=_card_purpose(stripe_invoice_id),
        amount_cents=charge.amount_refunded_cents - refunded_before,
        source_key=f"stripe-charge:{charge.id}:{charge.amount_refunded_cents}",
        note="Dues refunded",
    )


def _purpose(membership: Membership) -> str:
    issued = Invoice.objects.filter(kind=KIND, ref=str(membership.pk)).count()
    return f"membership-invoice:{membership.pk}:{issued + 1}"


def membership_pay_by_invoice(
    *, membership: Membership, billing: invoicing.Billing, now: datetime | None = None
) -> Invoice:
    """Issue the dues invoice for a membership to be paid by check or ACH, due in the plan's
    days; the membership waits, pending payment (one that is in grace keeps its access). An
    invoice still open for it is returned instead of a second one.

    Raises MembershipError when the plan is not paid by invoice, or the membership is active."""
    now = now or timezone.now()
    with transaction.atomic():
        m = _lock(membership.pk)
        if not m.plan.invoice_allowed:
            raise MembershipError("This plan cannot be paid by invoice.")
        if m.state == State.ACTIVE and m.is_live and not m.is_complimentary:
            raise MembershipError("Your membership is active; nothing is due yet.")
        open_invoice = Invoice.objects.filter(
            kind=KIND, ref=str(m.pk), status=Invoice.Status.OPEN, method=Invoice.Method.INVOICE
        ).first()
        if open_invoice is not None:
            return open_invoice
        due = timezone.localtime(now).date() + timedelta(days=m.plan.invoice_due_days)
        invoice = invoicing.invoice_issue(
            purpose_key=_purpose(m),
            kind=KIND,
            ref=str(m.pk),
            payer=m.user,
            lines=[_dues_line(m.plan, m.plan.yearly_price_cents, None, None)],
            method=Invoice.Method.INVOICE,
            billing=billing,
            due_date=due,
            now=now,
        )
        before = m.state
        if m.state in (State.LAPSED, State.CANCELED):
            m.state = State.PENDING
            m.save(update_fields=["state", "updated_at"])
        StateChange.objects.create(
            membership=m,
            from_state=before,
            to_state=m.state,
            reason=f"invoice {invoice.number} issued, to be paid by check or ACH by {due:%Y-%m-%d}",
        )
        if invoice.status == Invoice.Status.PAID:  # the payer's credit covered it
            _activate(m, invoice, now=now)
    return invoice


def membership_invoice_paid(invoice: Invoice) -> None:
    """payments' handler for a dues invoice paid in full by check or ACH: the membership is
    active for a year (from the end of the paid period when renewing early), with the welcome
    mail a card payment sends."""
    if not invoice.ref.isdigit():
        return
    with transaction.atomic():
        _activate(_lock(int(invoice.ref)), invoice, now=timezone.now())


def _activate(m: Membership, invoice: Invoice, *, now: datetime) -> None:
    before = m.state
    start = (
        m.current_period_end
        if m.is_live and m.current_period_end and m.current_period_end > now
        else now
    )
    m.state = State.ACTIVE
    m.current_period_end = _one_year_on(start)
    m.grace_started_at = None
    m.auto_renew = False
    m.is_complimentary = False
    m.started_at = m.started_at or now
    m.access_ends_at = access_end(m, now=now)
    m.save()
    reason = f"dues paid by invoice {invoice.number}, through {m.current_period_end:%Y-%m-%d}"
    if before == m.state:
        StateChange.objects.create(membership=m, from_state=before, to_state=m.state, reason=reason)
    else:
        _record(m, before, reason=reason)
    _on_enter(m, before, key=f"invoice-{invoice.number}")


def membership_invoice_part_paid(invoice: Invoice, receipt: Receipt) -> None:
    """payments' handler for a payment that leaves a balance: noted in the history; the
    membership stays as it is."""
    if not invoice.ref.isdigit():
        return
    m = Membership.objects.filter(pk=int(invoice.ref)).first()
    if m is None:
        return
    StateChange.objects.create(
        membership=m,
        from_state=m.state,
        to_state=m.state,
        reason=(
            f"payment received on invoice {invoice.number} (receipt {receipt.number}); "
            f"{invoice.balance_display} still due"
        ),
    )
