"""Payments' Celery tasks: apply a stored webhook event, and queue again the ones due."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from . import services


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
