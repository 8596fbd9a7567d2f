"""Thin Celery tasks: load rows by primary key, call a service or send a mail once.

Every mail is claimed in SentMail under a key before it leaves, so a retried or redelivered
task finds the key and sends nothing twice; a send that fails gives the claim back.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import IntegrityError, transaction
from django.urls import reverse

from portal.mail import render_email

from . import services
from .models import Attendee, Order, SentMail, WaitlistEntry

log = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "retry_kwargs": {"max_retries": 8},
    "acks_late": True,
}


def _send_once(key: str, build) -> bool:
    """Send the message `build()` makes unless `key` was claimed before. True when sent now.

    The claim is committed before the send, so no database lock is held while the mail server
    talks; a failed send withdraws the claim so the task's retry sends it after all.
    """
    try:
        with transaction.atomic():
            SentMail.objects.create(key=key)
    except IntegrityError:
        return False
    try:
        build().send()
    except Exception:
        SentMail.objects.filter(key=key).delete()
        raise
    return True


@shared_task(**RETRY)
def send_order_confirmation(order_id: int) -> None:
    """A ticket mail to every attendee and a receipt to the person who paid."""
    order = Order.objects.select_related("conference").get(pk=order_id)
    for attendee in order.attendees.all():
        send_attendee_ticket.run(attendee.pk)
    _send_once(f"order-receipt:{order.code}", lambda: _receipt(order))


@shared_task(**RETRY)
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
    from django.conf import settings

    return render_email(
        template="conferences/email/receipt",
        subject=f"Receipt for your {order.conference.title} registration",
        to=[order.email],
        context={
            "order": order,
            "conference": order.conference,
            "attendees": order.attendees.select_related("ticket_type"),
            "order_url": settings.SITE_URL + reverse("conferences:order", args=[order.code]),
            "policy": services.describe_refund_policy(order.conference),
        },
    )


@shared_task(**RETRY)
def send_waitlist_offer(entry_id: int) -> None:
    from django.conf import settings

    entry = WaitlistEntry.objects.select_related("conference", "ticket_type").get(pk=entry_id)
    if entry.status != WaitlistEntry.OFFERED:
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


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True)
def refund_send(refund_id: int) -> None:
    services.refund_send(refund_id=refund_id)


@shared_task(acks_late=True)
def release_expired_holds() -> int:
    """Beat, every minute: unpaid holds older than 30 minutes give their seats back."""
    return services.order_expire_holds()


@shared_task(acks_late=True)
def lapse_waitlist_offers() -> int:
    """Beat, every minute: offers older than 48 hours pass to the next person waiting."""
    return services.waitlist_lapse_offers()
