"""Conference orders on numbered invoices: an invoice with a line per attendee for every
order paid, by card (with its receipt) or by invoice (check or ACH); a credit note for each
refund; and paying by invoice, which keeps the order's seats held until the due date.

The seats of an order paid by invoice are an ordinary hold: the order stays "held" with a
later `hold_expires_at`, so the one seat count (capacity.seat_use) counts it and the hold job
releases it, unpaid, after the due date like any other."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from payments import invoicing
from payments.models import Invoice, Receipt

from ..models import Order
from .common import RegistrationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

KIND = "conference_order"


def purpose(order: Order) -> str:
    return f"conference-order:{order.code}"


def _lines(order: Order) -> list[invoicing.Line]:
    title = order.conference.title
    return [
        invoicing.Line(
            description=f"{title}: {a.ticket_type.name}, {a.first_name} {a.last_name}",
            unit_cents=a.price_cents,
            discount_cents=a.discount_cents,
        )
        for a in order.attendees.select_related("ticket_type").order_by("pk")
    ]


def invoice_allowed(order: Order) -> bool:
    """Whether this order may be paid by invoice: staff allow it above a total."""
    least = order.conference.invoice_min_total_cents
    return (
        order.status == Order.Status.HELD
        and least is not None
        and order.total_cents > 0
        and order.total_cents >= least
    )


def order_pay_by_invoice(
    *, order_id: int, by_user: User, billing: invoicing.Billing, now: datetime | None = None
) -> Invoice:
    """Issue the invoice for a held order and keep its seats held until the end of the due
    date, the conference's `invoice_hold_days` away. The same invoice again for a second click.

    Raises RegistrationError when the order is not the user's, not waiting for payment, its
    hold has lapsed, or it may not be paid by invoice."""
    now = now or timezone.now()
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("conference")
            .filter(pk=order_id)
            .first()
        )
        if order is None or order.owner_id != by_user.pk:
            raise RegistrationError("There is no such order.")
        existing = invoicing.invoice_for_purpose(purpose(order))
        if existing is not None and existing.status == Invoice.Status.OPEN:
            return existing
        if order.status != Order.Status.HELD or order.hold_lapsed(now):
            raise RegistrationError("This order is not waiting for payment.")
        if not invoice_allowed(order):
            raise RegistrationError("This order cannot be paid by invoice.")
        due = timezone.localtime(now).date() + timedelta(days=order.conference.invoice_hold_days)
        invoice = invoicing.invoice_issue(
            purpose_key=purpose(order),
            kind=KIND,
            ref=order.code,
            payer=by_user,
            lines=_lines(order),
            method=Invoice.Method.INVOICE,
            billing=billing,
            due_date=due,
            now=now,
        )
        # Still a hold, only a longer one: no seat is taken or counted twice.
        order.hold_expires_at = invoicing.end_of_day(due)
        order.save(update_fields=["hold_expires_at"])
    return invoice


def order_invoice_paid(invoice: Invoice) -> None:
    """payments' handler for an order's invoice paid in full by check or ACH: confirm it as a
    card payment does (tickets and the receipt mail; seats retaken if the hold lapsed)."""
    from .paying import order_mark_paid  # paying imports this module

    order = Order.objects.filter(code=invoice.ref).first()
    if order is not None:
        order_mark_paid(order_id=order.pk)


def invoice_for_paid_order(order: Order, *, now: datetime) -> None:
    """In the transaction that confirms an order: the invoice and card receipt for an order
    paid through Stripe. An order paid by invoice has both already; one that chose to pay by
    invoice and then paid by card gets the card receipt on that invoice."""
    if order.total_cents <= 0:
        return
    invoice = invoicing.invoice_for_purpose(purpose(order))
    if invoice is None:
        invoice = invoicing.invoice_issue(
            purpose_key=purpose(order),
            kind=KIND,
            ref=order.code,
            payer=order.owner,
            lines=_lines(order),
            method=Invoice.Method.CARD,
            stripe_payment_intent_id=order.stripe_payment_intent_id,
            now=now,
        )
    if invoice.status == Invoice.Status.OPEN:
        paid_by = order.stripe_payment_intent_id or order.stripe_checkout_session_id or order.code
        invoicing.invoice_paid_by_card(
            invoice=invoice,
            amount_cents=invoice.balance_cents,
            reference=paid_by,
            source_key=f"stripe-payment:{paid_by}",
            mail_wanted=False,  # the order's receipt mail carries it
            now=now,
        )


def invoice_for_refund(order: Order, *, refund_id: int, amount_cents: int) -> None:
    invoicing.invoice_refund(
        purpose_key=purpose(order),
        amount_cents=amount_cents,
        source_key=f"conference-refund:{refund_id}",
        note=f"Refund on order {order.code}",
    )


def invoice_for_closed_hold(order: Order, *, note: str) -> None:
    """The order's seats were released unpaid, or it was canceled before payment."""
    invoicing.invoice_cancel(purpose_key=purpose(order), note=note)


def order_documents(order: Order) -> tuple[Invoice | None, list[Receipt]]:
    """The order's invoice and its receipts, for the order page and the receipt mail."""
    invoice = invoicing.invoice_for_purpose(purpose(order))
    if invoice is None:
        return None, []
    return invoice, list(invoice.receipts.order_by("created_at", "pk"))
