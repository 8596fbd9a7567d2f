"""Holds that lapse: release unpaid orders past their deadline."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..models import Order
from .common import (
    _seats_freed,
)
from .invoicing import invoice_for_closed_hold


def order_expire_holds(*, now: datetime | None = None) -> int:
    """Release every unpaid hold older than its deadline; offer the seats to the waitlist."""

    now = now or timezone.now()
    expired = 0
    conference_ids = set()
    for order_id in Order.objects.filter(
        status=Order.Status.HELD, hold_expires_at__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            # A webhook may have confirmed it while we looked.
            if order.status != Order.Status.HELD:
                continue
            order.status = Order.Status.EXPIRED
            order.save(update_fields=["status"])
            invoice_for_closed_hold(order, note="Seats released: not paid by the due date")
            expired += 1
            conference_ids.add(order.conference_id)
    for conference_id in conference_ids:
        _seats_freed(conference_id)
    return expired
