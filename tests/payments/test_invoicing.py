"""Numbered documents: gapless numbers per year, invoices for card payments with a line per
attendee, credit notes for refunds, and the refusals of a recorded payment."""

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from conferences import services as conferences
from conferences.models import Order
from conferences.services import AttendeeSpec
from payments import invoicing
from payments.models import CreditNote, DocumentCounter, Invoice, Receipt
from tests.factories import ConferencePageFactory, StaffFactory, TicketTypeFactory, UserFactory

pytestmark = pytest.mark.django_db


def _issue(payer, key, cents=10_000, method=Invoice.Method.INVOICE):
    return invoicing.invoice_issue(
        purpose_key=key,
        kind="test",
        ref=key,
        payer=payer,
        lines=[invoicing.Line("Thing", cents)],
        method=method,
    )


def test_numbers_run_per_year_without_gaps_and_a_rolled_back_issue_takes_its_number_back():
    payer = UserFactory()
    year = timezone.localdate().year
    first = _issue(payer, "a")
    with pytest.raises(RuntimeError), transaction.atomic():
        doomed = _issue(payer, "b")
        assert doomed.number == f"{year}-00002"
        raise RuntimeError("the purchase failed after the invoice was numbered")
    second = _issue(payer, "c")
    assert [first.number, second.number] == [f"{year}-00001", f"{year}-00002"]
    assert not Invoice.objects.filter(purpose_key="b").exists()
    # The same purchase again gets the same invoice, not a new number.
    assert _issue(payer, "a").number == first.number
    assert DocumentCounter.objects.get(series="invoice", year=year).last == 2
    next_year = timezone.now() + timedelta(days=366)
    later = invoicing.invoice_issue(
        purpose_key="d", kind="test", ref="d", payer=payer,
        lines=[invoicing.Line("Thing", 100)], method=Invoice.Method.CARD, now=next_year,
    )  # fmt: skip
    assert later.number == f"{timezone.localtime(next_year).year}-00001"


def test_tax_is_shown_as_the_part_of_an_inclusive_total(settings):
    settings.INVOICE_TAX_RATE = "8.25"
    invoice = _issue(UserFactory(), "taxed", cents=110_500)
    assert invoice.total_cents == 110_500
    assert invoice.tax_cents == 8_421  # 110500 * 8.25 / 108.25 = 8421.48
    settings.INVOICE_TAX_RATE = ""
    assert _issue(UserFactory(), "untaxed").tax_cents == 0


def _order(conference, owner, names=("Ana", "Ben")):
    ticket = TicketTypeFactory(conference=conference, non_member_price_cents=55_250)
    return conferences.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(first_name=n, last_name="Diaz", email=f"{n}@x.example",
                         ticket_type_id=ticket.pk)
            for n in names
        ],
    )  # fmt: skip


def test_a_card_payment_gets_an_invoice_with_a_line_per_attendee_and_a_receipt():
    conference = ConferencePageFactory(capacity=10)
    order = _order(conference, UserFactory())
    conferences.order_mark_paid(order_id=order.pk, payment_intent_id="pi_123abc")
    conferences.order_mark_paid(order_id=order.pk, payment_intent_id="pi_123abc")  # replayed
    invoice = Invoice.objects.get()
    assert invoice.method == Invoice.Method.CARD and invoice.status == Invoice.Status.PAID
    assert invoice.stripe_payment_intent_id == "pi_123abc"
    assert [line.description for line in invoice.lines.all()] == [
        f"{conference.title}: {order.attendees.first().ticket_type.name}, Ana Diaz",
        f"{conference.title}: {order.attendees.first().ticket_type.name}, Ben Diaz",
    ]
    assert invoice.total_cents == order.total_cents == 110_500
    receipt = Receipt.objects.get()
    assert (receipt.amount_cents, receipt.method, receipt.invoice) == (110_500, "card", invoice)
    assert not receipt.mail_wanted  # the order's receipt mail carries it


def test_a_refund_issues_a_credit_note_referencing_the_invoice():
    conference = ConferencePageFactory(capacity=10)
    owner = UserFactory()
    order = _order(conference, owner)
    conferences.order_mark_paid(order_id=order.pk, payment_intent_id="pi_456def")
    conferences.order_cancel(order_id=order.pk, by_user=StaffFactory())
    credit = CreditNote.objects.get()
    invoice = Invoice.objects.get()
    assert credit.invoice == invoice and credit.reason == CreditNote.Reason.REFUND
    assert credit.amount_cents == 110_500
    assert credit.number == f"C{timezone.localdate().year}-00001"


def _offline(payer, cents=110_500):
    return _issue(payer, f"offline-{payer.pk}", cents=cents)


def _record(invoice, cents, **kwargs):
    values = {
        "invoice_id": invoice.pk, "amount_cents": cents, "currency": "usd", "method": "check",
        "reference": "1001", "received_on": timezone.localdate(), "actor": StaffFactory(),
        "key": f"k{cents}",
    }  # fmt: skip
    values.update(kwargs)
    return invoicing.payment_record_offline(**values)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount_cents": 200_000}, "more than the balance"),
        ({"currency": "eur"}, "is in USD"),
        ({"amount_cents": 0}, "more than zero"),
        ({"method": "card"}, "Choose how the payment was made"),
        ({"received_on": date.today() + timedelta(days=3)}, "cannot be in the future"),
    ],
)
def test_a_recorded_payment_is_refused_with_a_reason_and_nothing_changes(change, reason):
    invoice = _offline(UserFactory())
    with pytest.raises(invoicing.InvoiceError, match=reason):
        _record(invoice, change.pop("amount_cents", 50_000), **change)
    invoice.refresh_from_db()
    assert (invoice.paid_cents, invoice.status, Receipt.objects.count()) == (0, "open", 0)


def test_partial_payments_leave_a_balance_and_a_repeated_form_records_once():
    invoice = _offline(UserFactory())
    first = _record(invoice, 50_000)
    again = _record(invoice, 50_000)  # the same form submitted twice
    assert again.receipt == first.receipt and not first.settled
    invoice.refresh_from_db()
    assert (invoice.balance_cents, invoice.status) == (60_500, "open")
    last = _record(invoice, 60_500)
    invoice.refresh_from_db()
    assert last.settled and invoice.status == "paid" and invoice.balance_cents == 0


def test_an_overpayment_is_refunded_or_kept_as_credit_as_staff_choose():
    payer = UserFactory()
    refunded = _offline(payer)
    _record(refunded, 120_500, excess="refund")
    refunded.refresh_from_db()
    assert refunded.status == "paid" and refunded.balance_cents == 0
    note = CreditNote.objects.get(reason=CreditNote.Reason.OVERPAYMENT)
    assert note.amount_cents == 10_000 and note.invoice == refunded

    credited = _issue(payer, "second", cents=50_000)
    _record(credited, 60_000, excess="credit", key="x")
    third = _issue(payer, "third", cents=30_000)
    third.refresh_from_db()
    assert third.paid_cents == 10_000 and third.balance_cents == 20_000
    assert third.receipts.get().reference.startswith("Credit from receipt R")


def test_an_expired_hold_paid_by_invoice_cancels_its_invoice_with_a_credit_note():
    conference = ConferencePageFactory(capacity=10, invoice_min_total_cents=50_000)
    owner = UserFactory()
    order = _order(conference, owner)
    invoice = conferences.order_pay_by_invoice(
        order_id=order.pk, by_user=owner, billing=invoicing.billing_for(owner)
    )
    order.refresh_from_db()
    assert order.status == Order.Status.HELD
    assert order.hold_expires_at > timezone.now() + timedelta(days=13)
    released = conferences.order_expire_holds(now=order.hold_expires_at + timedelta(seconds=1))
    assert released == 1
    invoice.refresh_from_db()
    assert invoice.status == "canceled"
    assert CreditNote.objects.get().reason == CreditNote.Reason.CANCELED


def _stripe_invoice(amount=19_500):
    from payments import gateway

    now = timezone.now()
    return gateway.InvoiceData(
        id="in_1dues2027", number="STRIPE-0042", status=gateway.InvoiceStatus.PAID,
        billing_reason="subscription_create", customer="cus_dues1", customer_email="",
        customer_name="", subscription=None, payment_intent="pi_dues1", amount_due=amount,
        amount_paid=amount, currency="usd", created=now, paid_at=now, period_start=now,
        period_end=now + timedelta(days=365), hosted_invoice_url="", invoice_pdf="",
    )  # fmt: skip


def test_dues_paid_by_card_get_our_invoice_linked_to_stripes_and_a_refund_a_credit_note():
    from membership import services as membership
    from payments import gateway
    from tests.factories import MembershipFactory

    m = MembershipFactory(stripe_customer_id="cus_dues1")
    membership.payment_record(membership=m, invoice=_stripe_invoice())
    membership.payment_record(membership=m, invoice=_stripe_invoice())  # a replayed event
    invoice = Invoice.objects.get()
    assert (invoice.kind, invoice.ref, invoice.method) == ("membership", str(m.pk), "card")
    assert invoice.stripe_invoice_id == "in_1dues2027" and invoice.status == "paid"
    assert invoice.lines.get().description.startswith("Individual membership, one year")
    receipt = Receipt.objects.get()
    assert receipt.mail_wanted and receipt.reference == "STRIPE-0042"
    charge = gateway.ChargeData(
        id="ch_1dues", payment_intent="pi_dues1", customer="cus_dues1", amount_cents=19_500,
        amount_refunded_cents=5_000, refunded=False, currency="usd", metadata={},
    )  # fmt: skip
    membership.membership_apply_refund(charge)
    membership.membership_apply_refund(charge)  # the same refund event twice
    credit = CreditNote.objects.get()
    assert (credit.invoice, credit.amount_cents, credit.reason) == (invoice, 5_000, "refund")
