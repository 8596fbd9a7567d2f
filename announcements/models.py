"""Announcements: one mail from the association to a segment of people, sent through the
discussions send ledger (one AnnouncementDelivery row per recipient, exactly once).

State machine, every step under the announcement's row lock (services):
draft → scheduled (a send time; a segment that matches no one cannot get here)
      → sending (the one step that writes the ledger, taken once at or after the send time)
      → sent (no ledger row left to send).
Content can change while draft or scheduled; once sending starts nothing does.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from wagtail.fields import RichTextField
from wagtail.models import PreviewableMixin

from portal.models import ConsentCategory


class Announcement(PreviewableMixin, models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    class Segment(models.TextChoices):
        ACTIVE = "active", "All active members"
        LAPSED = "lapsed", "Members lapsed in the last N months"
        PLAN = "plan", "Active members on a plan"
        PRACTICE_ADMINS = "practice_admins", "Practice admins"
        CONFERENCE = "conference", "A conference's attendees"
        LIST = "list", "A discussion list's subscribers"

    subject = models.CharField(max_length=150)
    body = RichTextField(features=["h2", "h3", "bold", "italic", "ol", "ul", "link", "hr"])
    category = models.CharField(
        max_length=32,
        choices=ConsentCategory.choices,
        default=ConsentCategory.ASSOCIATION_NEWS,
        help_text="Recipients who turned this kind of mail off are left out.",
    )
    segment = models.CharField(max_length=20, choices=Segment.choices, default=Segment.ACTIVE)
    lapsed_months = models.PositiveSmallIntegerField(
        default=6, help_text="For “lapsed”: memberships whose access ended this many months ago."
    )
    plan = models.ForeignKey(
        "membership.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    conference = models.ForeignKey(
        "conferences.ConferencePage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    mailing_list = models.ForeignKey(
        "discussions.MailingList",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    send_at = models.DateTimeField(
        null=True, blank=True, help_text="When to send. Empty: as soon as it is scheduled."
    )
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.DRAFT, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    EDITABLE_STATES = (State.DRAFT, State.SCHEDULED)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "send_at"])]

    def __str__(self) -> str:
        return self.subject

    def clean(self) -> None:
        from .services import segment_check  # cycle: services import models

        segment_check(self)

    @property
    def is_editable(self) -> bool:
        return self.state in self.EDITABLE_STATES

    # Wagtail's preview shows the HTML part as a recipient would see it.
    def get_preview_template(self, request, mode_name):
        return "announcements/email/announcement.html"

    def get_preview_context(self, request, mode_name):
        from .services import preview_context  # cycle: services import models

        return preview_context(self, request.user)


class AnnouncementDelivery(models.Model):
    """The ledger: one row per announcement and address (discussions/services/ledger.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Claimed by a worker"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed permanently"

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(max_length=254)  # lower-cased: one copy per address
    name = models.CharField(max_length=160, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "announcement deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "email"], name="one_announcement_delivery"
            )
        ]
        indexes = [
            models.Index(fields=["announcement", "status", "next_attempt_at"]),
            models.Index(fields=["status", "claimed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} → {self.email} ({self.status})"
