"""Payments' Celery tasks: apply a stored webhook event, and queue again the ones due; mail
receipts and invoice reminders."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from portal.retry import SMTP_RETRY
from portal.sendonce import send_once_stamped

from . import invoicing, mail, services
from .models import Invoice, Receipt


# No Celery retries here: a failed event's retries, their backoff and their limit live with
# the event (services.stripe_event_apply records them; stripe_events_retry queues them again).
@shared_task(acks_late=True)
def stripe_event_apply(event_id: str) -> bool:
    """Apply a stored webhook event (re-reading its object from Stripe)."""
    return services.stripe_event_apply(event_id=event_id)


@shared_task
def stripe_events_retry(older_than_seconds: int = 120) -> int:
    """Queue again events not applied yet whose retry time came, or whose first task was lost
    (never tried `older_than_seconds` after arriving). Events parked as failed stay parked."""
    ids = services.stripe_events_due(lost_after=timedelta(seconds=older_than_seconds))
    for event_id in ids:
        stripe_event_apply.delay(event_id)
    return len(ids)


# --- invoices: receipts and reminders, each mailed once ------------------------------------------


@shared_task(**SMTP_RETRY)
def send_receipt(receipt_id: int) -> bool:
    """Mail a receipt with its PDF and the invoice's; sent once (portal.sendonce)."""
    return send_once_stamped(
        Receipt, receipt_id, "mailed_at", lambda: mail.receipt_mail(receipt_id)
    )


@shared_task
def invoice_reminders_queue() -> int:
    """Beat, hourly: one reminder for each invoice paid by invoice whose due date has come."""
    ids = invoicing.invoices_to_remind()
    for invoice_id in ids:
        send_invoice_reminder.delay(invoice_id)
    return len(ids)


@shared_task(**SMTP_RETRY)
def send_invoice_reminder(invoice_id: int) -> bool:
    return send_once_stamped(
        Invoice, invoice_id, "reminded_at", lambda: mail.reminder_mail(invoice_id)
    )
