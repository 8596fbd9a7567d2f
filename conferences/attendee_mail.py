"""Mail to attendees and buyers beyond the order confirmation: the ticket mail itself (with
its signed link and the QR code shown inline), and the confirmation that an order was
cancelled or refunded.

Cancellations and refunds are noticed from their rows (a post_save of a canceled Order, a
new Refund), so every path that cancels or refunds (the owner, staff, a payment that came too
late) mails without each having to remember to. One task per order takes the order's
send-once claim (portal.sendonce), decides what is due, sends, then records it in SentMail: a
cancellation mail names the refund queued with it, so a cancel-and-refund is one mail, and a
later refund (a payment that arrived after canceling) gets its own. Nothing is mailed twice.
"""

from __future__ import annotations

from email.mime.image import MIMEImage

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.db import transaction
from django.db.models.signals import post_save
from django.urls import reverse

from portal.mail import render_email
from portal.retry import SMTP_RETRY
from portal.sendonce import send_once

from . import services, tickets
from .models import Attendee, Order, Refund, SentMail


class RelatedImagesEmail(EmailMultiAlternatives):
    """A message whose HTML shows images by Content-ID: the text and HTML alternatives and the
    images go in one multipart/related part, attachments (the calendar file) beside it:
    mixed[related[alternative[text, html], image], calendar]."""

    def __init__(self, *args, inline_images=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.inline_images = list(inline_images)

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if not self.inline_images:
            return msg
        related = SafeMIMEMultipart(
            _subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET
        )
        related.attach(msg)
        for image in self.inline_images:
            related.attach(image)
        return related


def qr_content_id(attendee: Attendee) -> str:
    return f"ticket-qr-{attendee.ticket_code}@guildhall"


def ticket_message(attendee: Attendee) -> EmailMultiAlternatives:
    """The ticket mail: the signed link (no account needed), the QR code inline (a PNG the HTML
    part shows by cid:), and the calendar file attached."""
    conference = attendee.order.conference
    content_id = qr_content_id(attendee)
    rendered = render_email(
        template="conferences/email/ticket",
        subject=f"Your ticket for {conference.title}",
        to=[attendee.email],
        context={
            "attendee": attendee,
            "conference": conference,
            "ticket_url": tickets.ticket_url(attendee),
            "details_url": tickets.attendee_link(attendee, "conferences:attendee-details"),
            "qr_cid": content_id,
            "location": tickets.venue_location(conference),
            "breakouts": [
                c.session
                for c in attendee.choices.select_related("session").order_by("slot_starts_at")
            ],
        },
    )
    image = MIMEImage(tickets.qr_png(attendee), "png")
    image.add_header("Content-ID", f"<{content_id}>")
    image.add_header("Content-Disposition", "inline", filename=f"ticket-{attendee.ticket_code}.png")
    message = RelatedImagesEmail(
        subject=rendered.subject,
        body=rendered.body,
        from_email=rendered.from_email,
        to=rendered.to,
        reply_to=rendered.reply_to,
        headers=rendered.extra_headers,
        alternatives=rendered.alternatives,
        inline_images=[image],
    )
    message.attach(f"{conference.slug}.ics", tickets.attendee_ics(attendee), "text/calendar")
    return message


# --- Cancelled and refunded --------------------------------------------------------------------


def _order_changed(sender, instance: Order, created: bool, **kwargs) -> None:
    if instance.status == Order.Status.CANCELED:
        order_id = instance.pk
        transaction.on_commit(lambda: send_order_closure_mail.delay(order_id))


def _refund_created(sender, instance: Refund, created: bool, **kwargs) -> None:
    if created:
        order_id = instance.order_id
        transaction.on_commit(lambda: send_order_closure_mail.delay(order_id))


def connect() -> None:
    post_save.connect(_order_changed, sender=Order, dispatch_uid="conferences-order-closure")
    post_save.connect(_refund_created, sender=Refund, dispatch_uid="conferences-refund-mail")


def cancel_key(order: Order) -> str:
    return f"order-cancelled:{order.code}"


def refund_key(refund: Refund) -> str:
    return f"refund:{refund.pk}"


@shared_task(**SMTP_RETRY)
def send_order_closure_mail(order_id: int) -> str:
    """Mail the buyer what is due for this order: "canceled" (naming any refund with it) or
    "refunded". Returns what was sent ("canceled", "refunded" or "").

    One claim per order (portal.sendonce) makes two of these tasks take turns without a row
    lock during SMTP; what is due is read after the claim, so the second sees what the first
    recorded in SentMail and sends only what is left.
    """
    due: dict[str, object] = {"kind": "", "keys": []}

    def build():
        order = Order.objects.select_related("conference").get(pk=order_id)
        claimed = set(
            SentMail.objects.filter(
                key__in=[cancel_key(order)] + [refund_key(r) for r in order.refunds.all()]
            ).values_list("key", flat=True)
        )
        refunds = [r for r in order.refunds.order_by("pk") if refund_key(r) not in claimed]
        if order.status == Order.Status.CANCELED and cancel_key(order) not in claimed:
            kind = "canceled"
        elif refunds:
            kind = "refunded"
        else:
            return None
        due["kind"] = kind
        due["keys"] = [refund_key(r) for r in refunds] + (
            [cancel_key(order)] if kind == "canceled" else []
        )
        return _closure_message(order, kind=kind, refunds=refunds)

    def mark_sent():
        SentMail.objects.bulk_create([SentMail(key=k) for k in due["keys"]], ignore_conflicts=True)

    sent = send_once(
        f"conferences.order-closure:{order_id}",
        build,
        is_sent=lambda: False,  # what is due is decided in build(), after the claim
        mark_sent=mark_sent,
    )
    return str(due["kind"]) if sent else ""


def _closure_message(order: Order, *, kind: str, refunds: list[Refund]):
    conference = order.conference
    subject = (
        f"Your {conference.title} registration is canceled"
        if kind == "canceled"
        else f"Refund for your {conference.title} registration"
    )
    return render_email(
        template="conferences/email/order_closed",
        subject=subject,
        to=[order.email],
        context={
            "order": order,
            "conference": conference,
            "kind": kind,
            "refunds": refunds,
            "refund_cents": sum(r.amount_cents for r in refunds),
            "attendees": order.attendees.select_related("ticket_type"),
            "order_url": settings.SITE_URL + reverse("conferences:order", args=[order.code]),
            "policy": services.describe_refund_policy(conference),
        },
    )
