"""Stripe's webhook events as they arrived: each stored once, then applied by the app that owns
the purchase. Every write goes through `payments.services`."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class StripeEvent(models.Model):
    """A webhook event, stored once by its Stripe id before it is applied.

    An event whose apply fails is tried again after a growing delay (`next_attempt_at`), up to
    STRIPE_EVENT_MAX_ATTEMPTS tries; then it is parked (`failed_at`) until staff retry it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be applied"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed: waiting for staff"

    id = models.CharField(max_length=80, primary_key=True)
    type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=80, blank=True)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Not tried again before this time."
    )
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was given up on, after its last attempt."
    )
    payload = models.JSONField()
    covered_by = models.CharField(
        max_length=80,
        blank=True,
        default="",
        help_text="Applied by the re-read for this event (same object, read after this arrived).",
    )

    class Meta:
        # The table membership created before payments was its own app; the rows stayed put.
        db_table = "membership_stripeevent"
        indexes = [
            models.Index(fields=["processed_at", "received_at"]),
            # The events about one object still to apply (those an apply's read covers).
            models.Index(
                fields=["object_id", "received_at"],
                name="stripeevent_object_pending",
                condition=models.Q(processed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"

    @property
    def status(self) -> str:
        if self.processed_at is not None:
            return self.Status.APPLIED
        if self.failed_at is not None:
            return self.Status.FAILED
        return self.Status.PENDING
