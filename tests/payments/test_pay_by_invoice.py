"""Pay by invoice (check or ACH) for dues and conference orders: the invoice at once, the
membership pending and the seats held, staff recording payments in the admin, the same mails
as a card payment, the reminder on the due date and the release of unpaid holds."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conferences import capacity
from conferences import services as conferences
from conferences.models import Order
from conferences.services import AttendeeSpec
from membership.history import member_reason
from membership.models import Membership, Notice
from payments import invoicing, tasks
from payments.models import Invoice, Receipt
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    PlanFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

DETAILS = {"organization": "Lakeside Family Practice", "address": "12 Elm St", "tax_id": "",
           "po_number": "PO-7781"}  # fmt: skip


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def plan():
    return PlanFactory(invoice_allowed=True, invoice_due_days=30)


def _join_by_invoice(user, plan):
    return _client(user).post(reverse("membership:join-invoice", args=[plan.slug]), DETAILS)


def _record(staff_client, invoice, amount, **extra):
    data = {"amount": amount, "currency": "USD", "method": "check", "reference": "1001",
            "received_on": timezone.localdate().isoformat(), "excess": "",
            "key": uuid.uuid4().hex, **extra}  # fmt: skip
    return staff_client.post(reverse("invoices:record", args=[invoice.pk]), data)


def test_dues_by_invoice_pending_then_partial_then_paid_in_full(
    plan, mfa_client, django_capture_on_commit_callbacks
):
    user = UserFactory()
    response = _join_by_invoice(user, plan)
    assert response.status_code == 302 and response["Location"] == reverse("membership:account")
    membership = Membership.objects.get(user=user)
    invoice = Invoice.objects.get()
    assert membership.state == Membership.State.PENDING and not membership.is_live
    assert (invoice.method, invoice.total_cents, invoice.po_number) == (
        "invoice",
        19_500,
        "PO-7781",
    )
    assert invoice.due_date == timezone.localdate() + timedelta(days=30)
    assert invoice.organization == "Lakeside Family Practice"
    assert _join_by_invoice(user, plan).status_code == 302  # a second click: the same invoice
    assert Invoice.objects.count() == 1

    staff = mfa_client(StaffFactory(is_superuser=True))
    assert _record(staff, invoice, "250.00").status_code == 400  # more than the balance
    assert _record(staff, invoice, "50.00", currency="EUR").status_code == 400
    assert _record(staff, invoice, "abc").status_code == 400
    assert not Receipt.objects.exists()
    assert _record(staff, invoice, "50.00").status_code == 302
    membership.refresh_from_db()
    invoice.refresh_from_db()
    assert membership.state == "pending" and invoice.balance_cents == 14_500
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert _record(staff, invoice, "145.00", method="ach").status_code == 302
    membership.refresh_from_db()
    invoice.refresh_from_db()
    assert membership.state == Membership.State.ACTIVE and membership.is_live
    assert invoice.status == "paid" and not membership.auto_renew
    assert membership.current_period_end > timezone.now() + timedelta(days=364)
    # The same welcome notice a card payment queues, and both receipts are mailed.
    assert Notice.objects.filter(membership=membership, kind=Notice.Kind.WELCOME).exists()
    assert len(callbacks) >= 2
    for receipt in Receipt.objects.order_by("pk"):
        assert tasks.send_receipt.run(receipt.pk)
    assert [m.attachments[0][0] for m in mail.outbox] == [
        f"receipt-{r.number}.pdf" for r in Receipt.objects.order_by("pk")
    ]
    history = [member_reason(h.reason).lower() for h in membership.history.all()]
    assert any(f"invoice {invoice.number} issued" in h for h in history)
    assert any("still due" in h for h in history)
    assert any(f"dues paid by invoice {invoice.number}" in h for h in history)
    # Nothing left to pay: a further payment is refused.
    assert _record(staff, invoice, "1.00").status_code == 400


def test_pay_by_invoice_is_refused_where_the_plan_does_not_allow_it():
    plan = PlanFactory(name="Card only", invoice_allowed=False)
    user = UserFactory()
    assert _join_by_invoice(user, plan).status_code == 404
    assert not Invoice.objects.exists() and not Membership.objects.filter(user=user).exists()


def test_bad_invoice_details_are_a_400_and_issue_nothing(plan):
    user = UserFactory()
    response = _client(user).post(
        reverse("membership:join-invoice", args=[plan.slug]), {**DETAILS, "address": ""}
    )
    assert response.status_code == 400 and not Invoice.objects.exists()


def test_an_active_member_is_not_invoiced_again(plan):
    member = MemberFactory(membership__plan=plan)
    assert _join_by_invoice(member, plan).status_code == 409
    assert not Invoice.objects.exists()


def test_the_record_form_is_for_staff_with_the_second_factor(plan, mfa_client):
    user = UserFactory()
    _join_by_invoice(user, plan)
    invoice = Invoice.objects.get()
    url = reverse("invoices:record", args=[invoice.pk])
    assert Client().get(url).status_code == 302  # to the login page
    assert _client(MemberFactory()).get(url).status_code in (302, 403)
    assert _client(StaffFactory(is_superuser=True)).get(url).status_code != 200  # no 2FA
    assert mfa_client(StaffFactory(is_superuser=True)).get(url).status_code == 200


def _held_order(owner, conference):
    ticket = TicketTypeFactory(conference=conference, non_member_price_cents=55_250)
    return conferences.order_create(
        conference_id=conference.pk, owner=owner,
        attendees=[AttendeeSpec(first_name=n, last_name="Diaz", email=f"{n}@x.example",
                                ticket_type_id=ticket.pk) for n in ("Ana", "Ben")],
    )  # fmt: skip


def test_an_order_by_invoice_keeps_its_seats_held_until_paid(mfa_client):
    conference = ConferencePageFactory(capacity=10, invoice_min_total_cents=100_000)
    owner = UserFactory()
    order = _held_order(owner, conference)
    url = reverse("conferences:order-invoice", args=[order.code])
    assert _client(UserFactory()).get(url).status_code == 404  # not the buyer
    assert _client(owner).post(url, {**DETAILS, "address": ""}).status_code == 400
    assert not Invoice.objects.exists()
    assert _client(owner).post(url, DETAILS).status_code == 302
    order.refresh_from_db()
    invoice = Invoice.objects.get()
    assert order.status == Order.Status.HELD
    assert timezone.localtime(order.hold_expires_at).date() == invoice.due_date
    assert invoice.due_date == timezone.localdate() + timedelta(days=14)
    # The seats are counted as held by the one seat count.
    assert capacity.seat_use(conference_id=conference.pk).conference == 2
    page = _client(owner).get(reverse("conferences:order", args=[order.code]))
    assert invoice.number in page.content.decode()

    staff = mfa_client(StaffFactory(is_superuser=True))
    assert _record(staff, invoice, "1105.00").status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    # The settling payment's receipt goes out with the order's own receipt mail.
    assert not Receipt.objects.get().mail_wanted


def test_an_order_below_the_total_staff_set_cannot_be_paid_by_invoice():
    conference = ConferencePageFactory(capacity=10, invoice_min_total_cents=200_000)
    owner = UserFactory()
    order = _held_order(owner, conference)
    response = _client(owner).post(reverse("conferences:order-invoice", args=[order.code]), DETAILS)
    assert response.status_code == 400 and not Invoice.objects.exists()


def test_one_reminder_on_the_due_date_and_none_once_paid(plan):
    user = UserFactory()
    _join_by_invoice(user, plan)
    invoice = Invoice.objects.get()
    assert invoicing.invoices_to_remind() == []
    due = invoice.due_date
    assert invoicing.invoices_to_remind(today=due) == [invoice.pk]
    assert tasks.send_invoice_reminder.run(invoice.pk) is True
    assert tasks.send_invoice_reminder.run(invoice.pk) is False
    assert invoicing.invoices_to_remind(today=due) == []
    assert len(mail.outbox) == 1 and "due today" in mail.outbox[0].subject
    assert mail.outbox[0].attachments[0][0] == f"invoice-{invoice.number}.pdf"
