"""Celery tasks: thin wrappers that take primary keys and call the service they are named after.

Each is safe to run twice: dispatch moves scheduled → sending once under the row lock, a batch
claims only pending rows, the tick only re-queues what is due.
"""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model

from portal.retry import SMTP_RETRY

from . import services
from .models import Announcement


@shared_task(acks_late=True)
def announcement_dispatch(announcement_id: int) -> int:
    return services.announcement_dispatch(announcement_id=announcement_id)


@shared_task(**SMTP_RETRY)
def send_announcement_batch(announcement_id: int) -> int:
    return services.announcement_send_batch(announcement_id=announcement_id)


@shared_task(acks_late=True)
def announcements_tick() -> dict:
    return services.announcements_tick()


@shared_task(**SMTP_RETRY)
def send_announcement_test(announcement_id: int, user_id: int) -> None:
    """A test copy a staff member asked for, to their own address. Not in the ledger: each
    click is meant to send one more."""
    announcement = Announcement.objects.get(pk=announcement_id)
    user = get_user_model().objects.get(pk=user_id)
    services.announcement_test_message(announcement=announcement, user=user).send()
