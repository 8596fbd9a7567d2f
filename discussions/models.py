"""The email discussion network: lists, subscriptions, the archive and the delivery ledger.

Inbound mail is kept as raw bytes (InboundMessage) before the listener answers 250; everything
else is derived from it by the ingest task. Outbound mail is driven by Delivery rows, one per
(message, recipient), which is what makes fan-out safe to retry and resume.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import LazyObject, empty


class MailingList(models.Model):
    class Posting(models.TextChoices):
        MEMBERS = "members", "All subscribers (on an open list: any active member)"
        MODERATORS = "moderators", "Moderators only (announcements)"
        NAMED = "named", "Named members only (and moderators)"

    class Joining(models.TextChoices):
        OPEN = "open", "Open to members"
        REQUEST = "request", "By request (a moderator approves)"
        INVITATION = "invitation", "Invitation only"

    name = models.CharField(max_length=120)
    slug = models.SlugField(
        max_length=60, unique=True, help_text="The list address is <slug>@ the list domain."
    )
    description = models.TextField(blank=True)
    posting = models.CharField(max_length=20, choices=Posting.choices, default=Posting.MEMBERS)
    joining = models.CharField(
        max_length=12,
        choices=Joining.choices,
        default=Joining.OPEN,
        help_text="Committee and board lists: by request or invitation only. Such a list is "
        "hidden from members who cannot join it, and only its subscribers and moderators "
        "read its archive.",
    )
    allowed_senders = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text="Who may post when posting is 'Named members only'.",
    )
    archive_members_only = models.BooleanField(
        default=True, help_text="Only active members may read the archive."
    )
    moderate_first_posts = models.BooleanField(
        default=True, help_text="Hold a member's first post to this list for a moderator."
    )
    moderators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="moderated_lists"
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("discussions:list", kwargs={"slug": self.slug})

    @property
    def address(self) -> str:
        return f"{self.slug}@{settings.LIST_DOMAIN}"

    @property
    def list_id(self) -> str:
        """RFC 2919 list identifier: a dotted name under a domain we control."""
        return f"{self.slug}.{settings.LIST_DOMAIN}"

    @property
    def subject_tag(self) -> str:
        return f"[{self.name}]"

    @property
    def is_restricted(self) -> bool:
        """A committee or board list: joined by request or invitation, archive closed."""
        return self.joining != self.Joining.OPEN


class JoinRequest(models.Model):
    """A member asking to join a by-request list, and a moderator's answer (told once)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a moderator"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mailing_list = models.ForeignKey(
        MailingList, on_delete=models.CASCADE, related_name="join_requests"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.CharField(max_length=500, blank=True, help_text="The member's reason.")
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Ledgers: moderators told of the request, the requester told of the answer, once each.
    moderators_notified_at = models.DateTimeField(null=True, blank=True)
    requester_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "mailing_list"], name="one_join_request")
        ]

    def __str__(self) -> str:
        return f"{self.user} asks to join {self.mailing_list} ({self.status})"


class Invitation(models.Model):
    """A moderator's invitation to a list; the emailed link is signed over its pk."""

    mailing_list = models.ForeignKey(
        MailingList, on_delete=models.CASCADE, related_name="invitations"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "mailing_list"], name="one_invitation")
        ]

    def __str__(self) -> str:
        return f"{self.user} invited to {self.mailing_list}"


class Subscription(models.Model):
    class Mode(models.TextChoices):
        EVERY = "every", "Every message"
        DAILY = "daily", "Daily digest"
        WEEKLY = "weekly", "Weekly digest"
        WEB = "web", "Web only (and threads I follow)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="list_subscriptions"
    )
    mailing_list = models.ForeignKey(
        MailingList, on_delete=models.CASCADE, related_name="subscriptions"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.EVERY)
    created_at = models.DateTimeField(default=timezone.now)
    # Digests: the last one covered messages up to this moment.
    digest_covered_until = models.DateTimeField(null=True, blank=True)
    # Bounce handling (after Mailman 3): a score that decays, delivery off past a threshold.
    bounce_score = models.FloatField(default=0)
    last_bounce_at = models.DateTimeField(null=True, blank=True)
    delivery_disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "mailing_list"], name="one_subscription")
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.mailing_list} ({self.mode})"


class Thread(models.Model):
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="threads")
    subject = models.CharField(max_length=300)
    normalized_subject = models.CharField(max_length=300, db_index=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    message_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["mailing_list", "-last_activity_at"])]

    def __str__(self) -> str:
        return self.subject

    def get_absolute_url(self) -> str:
        return reverse("discussions:thread", kwargs={"slug": self.mailing_list.slug, "pk": self.pk})


class ThreadPreference(models.Model):
    class State(models.TextChoices):
        FOLLOW = "follow", "Following"
        MUTE = "mute", "Muted"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="preferences")
    state = models.CharField(max_length=10, choices=State.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "thread"], name="one_thread_preference")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.state} {self.thread}"


class InboundMessage(models.Model):
    """A message exactly as the MTA handed it over, stored before we answered 250."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        POSTED = "posted", "Posted"
        HELD = "held", "Held for moderation"
        BOUNCE = "bounce", "Bounce processed"
        DISCARDED = "discarded", "Discarded"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed (kept for inspection)"

    raw = models.BinaryField()
    mail_from = models.CharField(max_length=500, blank=True)
    rcpt_to = models.CharField(max_length=500)
    peer = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    detail = models.TextField(
        blank=True, help_text="Why it was discarded or rejected, or the error."
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    # Ledger for the "could not post" notice, so a retried task tells the sender once.
    sender_notified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Inbound #{self.pk} to {self.rcpt_to} ({self.status})"


class Message(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published", "Published"
        HELD = "held", "Held for moderation"
        REJECTED = "rejected", "Rejected"

    class Source(models.TextChoices):
        EMAIL = "email", "Email"
        WEB = "web", "Web"

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="messages")
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="list_messages",
    )
    from_name = models.CharField(max_length=200, blank=True)
    from_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    # The sender's Message-ID (may be blank) and the one we put on everything we send.
    message_id = models.CharField(max_length=500, blank=True, db_index=True)
    list_message_id = models.CharField(max_length=500, unique=True)
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.TextField(blank=True)
    body_text = models.TextField(blank=True, help_text="The full plain text, quotes included.")
    body_html = models.TextField(blank=True, help_text="Sanitized HTML part, when there was one.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PUBLISHED, db_index=True
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.EMAIL)
    hold_reason = models.CharField(max_length=300, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderation_note = models.TextField(blank=True)
    # Whether the From address is proven (our MTA's DMARC/DKIM/SPF verdict, a web login, or the
    # member's click on the emailed confirmation), and what the check found.
    sender_verified = models.BooleanField(default=False)
    sender_check = models.CharField(max_length=200, blank=True)
    # Ledger for hold and rejection notices: each is sent once even if its task runs twice.
    confirm_notified_at = models.DateTimeField(null=True, blank=True)
    hold_notified_at = models.DateTimeField(null=True, blank=True)
    moderators_notified_at = models.DateTimeField(null=True, blank=True)
    reject_notified_at = models.DateTimeField(null=True, blank=True)
    inbound = models.OneToOneField(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="message"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.subject

    @property
    def display_name(self) -> str:
        return self.from_name or self.from_email.split("@")[0]


class _AttachmentStorage(LazyObject):
    """STORAGES["attachments"], looked up when first used rather than when models load.

    A FileField calls its storage callable once, at import, and keeps what it returned; a
    plain storages["attachments"] there would outlive any later change to STORAGES (a test's
    override), and the field would keep writing to the old location. Built like Django's own
    default_storage, which it resets alongside (see `_storages_changed`).
    """

    def _setup(self) -> None:
        self._wrapped = storages["attachments"]


_attachment_storage = _AttachmentStorage()


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs: Any) -> None:
    # The same settings after which Django rebuilds `storages` (django.test.signals); only
    # ever sent by override_settings, never in production.
    if setting in ("STORAGES", "STATIC_ROOT", "STATIC_URL"):
        _attachment_storage._wrapped = empty


def attachment_storage() -> _AttachmentStorage:
    """The private storage (STORAGES["attachments"]): never served as /media/."""
    return _attachment_storage


def attachment_path(instance, filename: str) -> str:
    """A random name: nobody can guess where another post's file is."""
    return f"discussions/{secrets.token_hex(16)}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, storage=attachment_storage, max_length=200)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.filename


class Delivery(models.Model):
    """The ledger: one row per message and recipient, so nobody ever gets two copies."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Claimed by a worker"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed permanently"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["message", "recipient"], name="one_delivery")
        ]
        indexes = [
            models.Index(fields=["message", "status", "next_attempt_at"]),
            models.Index(fields=["status", "claimed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.email} ({self.status})"


class Bounce(models.Model):
    class Kind(models.TextChoices):
        HARD = "hard", "Permanent failure"
        SOFT = "soft", "Temporary failure"
        POLICY = "policy", "Policy rejection (5.7.x), not counted"

    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(max_length=254)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status_code = models.CharField(max_length=20, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    inbound = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} bounce from {self.email}"


class BannedSender(models.Model):
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="bans")
    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing_list", "email"], name="one_ban_per_address")
        ]

    def __str__(self) -> str:
        return f"{self.email} banned from {self.mailing_list}"


class Digest(models.Model):
    """Ledger of digests: one per subscription and period, so beat running twice sends once."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="digests")
    period_end = models.DateTimeField()
    message_count = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=500)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period_end"], name="one_digest")
        ]

    def __str__(self) -> str:
        return f"Digest for {self.subscription} until {self.period_end:%Y-%m-%d}"


class PrivateReply(models.Model):
    """A reply to one post's author alone, relayed by us so neither side needs the other's
    address up front: by mail to the post's private reply address, or from the archive.
    The row is the ledger of the one relayed copy (`sent_at`)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="private_replies")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sender_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    inbound = models.OneToOneField(
        InboundMessage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="private_reply",
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "private replies"

    def __str__(self) -> str:
        return f"Private reply to #{self.message_id} from {self.sender_email}"
