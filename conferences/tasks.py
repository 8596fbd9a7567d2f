"""Thin Celery tasks: load rows by primary key, call a service or send a mail once.

Every mail goes through portal.sendonce under a key and is recorded in SentMail once sent, so
a retried or redelivered task sends nothing twice; a send that fails gives the claim back.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from payments.mail import attach_documents
from portal.mail import render_email
from portal.retry import SMTP_RETRY, STRIPE_RETRY
from portal.sendonce import send_once

from . import services
from .models import Attendee, Order, SentMail, WaitlistEntry

log = logging.getLogger(__name__)


def _send_once(key: str, build) -> bool:
    """Send the message `build()` makes unless SentMail records `key`. True when sent now."""
    return send_once(
        f"conferences.sentmail:{key}",
        build,
        is_sent=SentMail.objects.filter(key=key).exists,
        mark_sent=lambda: SentMail.objects.get_or_create(key=key),
    )


@shared_task(**SMTP_RETRY)
def send_order_confirmation(order_id: int) -> None:
    """A ticket mail to every attendee and a receipt to the person who paid."""
    order = Order.objects.select_related("conference").get(pk=order_id)
    for attendee in order.attendees.all():
        send_attendee_ticket.run(attendee.pk)
    _send_once(f"order-receipt:{order.code}", lambda: _receipt(order))


@shared_task(**SMTP_RETRY)
def send_attendee_ticket(attendee_id: int) -> None:
    attendee = Attendee.objects.select_related("order__conference", "ticket_type").get(
        pk=attendee_id
    )
    # Keyed by ticket code and break-outs: a substitute (new code) or a move to another
    # break-out (new calendar) gets a fresh mail; a retried task gets none.
    sessions = "-".join(
        str(pk) for pk in sorted(attendee.choices.values_list("session_id", flat=True))
    )
    _send_once(f"attendee-ticket:{attendee.ticket_code}:{sessions}", lambda: _ticket_mail(attendee))


def _ticket_mail(attendee: Attendee):
    # The message (signed link, inline QR code, calendar file) is built in attendee_mail.
    from .attendee_mail import ticket_message

    return ticket_message(attendee)


def _receipt(order: Order):
    """The buyer's receipt, with the order's invoice and receipts attached as PDF."""
    invoice, receipts = services.order_documents(order)
    message = render_email(
        template="conferences/email/receipt",
        subject=f"Receipt for your {order.conference.title} registration",
        to=[order.email],
        context={
            "order": order,
            "conference": order.conference,
            "attendees": order.attendees.select_related("ticket_type"),
            "order_url": settings.SITE_URL + reverse("conferences:order", args=[order.code]),
            "policy": services.describe_refund_policy(order.conference),
            "invoice": invoice,
        },
    )
    if invoice is not None:
        attach_documents(message, invoice, *receipts)
    return message


@shared_task(**SMTP_RETRY)
def send_waitlist_offer(entry_id: int) -> None:
    entry = WaitlistEntry.objects.select_related("conference", "ticket_type").get(pk=entry_id)
    if entry.status != WaitlistEntry.Status.OFFERED:
        return
    url = settings.SITE_URL + reverse("conferences:waitlist-offer", args=[entry.token])
    _send_once(
        f"waitlist-offer:{entry.pk}:{int(entry.offered_at.timestamp())}",
        lambda: render_email(
            template="conferences/email/waitlist_offer",
            subject=f"A seat is free at {entry.conference.title}",
            to=[entry.email],
            context={"entry": entry, "url": url},
        ),
    )


@shared_task(acks_late=True)
def waitlist_offer_seats(conference_id: int) -> None:
    services.waitlist_offer_seats(conference_id=conference_id)


@shared_task(**STRIPE_RETRY)
def refund_send(refund_id: int) -> None:
    services.refund_send(refund_id=refund_id)


@shared_task(acks_late=True)
def order_expire_holds() -> int:
    """Beat, every minute: unpaid holds older than 30 minutes give their seats back."""
    return services.order_expire_holds()


@shared_task(acks_late=True)
def waitlist_lapse_offers() -> int:
    """Beat, every minute: offers older than 48 hours pass to the next person waiting."""
    return services.waitlist_lapse_offers()
