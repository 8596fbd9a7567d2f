"""Plans, memberships, practices and their seats, payments and state history.

Other apps never read these tables: they ask `membership.access`. Every write goes through
`membership.services`.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
    ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
    ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
    ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"),
    ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
    ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"),
    ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"),
    ("OR", "Oregon"), ("PA", "Pennsylvania"), ("PR", "Puerto Rico"), ("RI", "Rhode Island"),
    ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
    ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
    ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
]  # fmt: skip


class Plan(models.Model):
    """A membership plan, edited by staff; its Stripe Product and yearly Price follow it."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        PRACTICE = "practice", "Practice"

    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INDIVIDUAL)
    yearly_price_cents = models.PositiveIntegerField(
        "yearly price (cents)", validators=[MinValueValidator(100)]
    )
    description = models.TextField(blank=True)
    benefits = models.TextField(blank=True, help_text="One benefit per line.")
    seats = models.PositiveSmallIntegerField(
        default=1, help_text="How many staff a practice plan covers, the admin included."
    )
    is_voting = models.BooleanField("voting membership", default=True)
    is_active = models.BooleanField(
        "offered to new members", default=True, help_text="Inactive plans keep their members."
    )
    sort_order = models.PositiveSmallIntegerField(default=0)
    invoice_allowed = models.BooleanField(
        "may be paid by invoice",
        default=False,
        help_text="Members may choose to pay this plan's dues by invoice (check or ACH).",
    )
    invoice_due_days = models.PositiveSmallIntegerField(
        "days to pay an invoice",
        default=30,
        validators=[MinValueValidator(1)],
        help_text="The invoice is due this many days after it is issued.",
    )
    # Stripe's side, written by the sync task; the lookup key is derived from the slug.
    stripe_product_id = models.CharField(max_length=80, blank=True)
    stripe_price_id = models.CharField(max_length=80, blank=True)
    stripe_synced_cents = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["sort_order", "yearly_price_cents", "pk"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:80]
        super().save(*args, **kwargs)

    @property
    def lookup_key(self) -> str:
        return f"membership-{self.slug}-yearly"

    @property
    def is_practice(self) -> bool:
        return self.kind == self.Kind.PRACTICE

    @property
    def price_display(self) -> str:
        dollars, cents = divmod(self.yearly_price_cents, 100)
        return f"${dollars:,}" if not cents else f"${dollars:,}.{cents:02d}"

    @property
    def benefit_list(self) -> list[str]:
        return [line.strip() for line in self.benefits.splitlines() if line.strip()]

    @property
    def needs_stripe_sync(self) -> bool:
        return not self.stripe_price_id or self.stripe_synced_cents != self.yearly_price_cents


class Practice(models.Model):
    """A medical practice that buys one membership for several staff."""

    name = models.CharField(max_length=160)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    specialty = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class MembershipQuerySet(models.QuerySet["Membership"]):
    def live(self, at: datetime | None = None) -> MembershipQuerySet:
        """Memberships that give member access at `at` (now): active or in grace, not past
        the end of their access, so a late beat task never extends anyone's access."""
        at = at or timezone.now()
        return self.filter(state__in=Membership.LIVE_STATES).filter(
            Q(access_ends_at__isnull=True) | Q(access_ends_at__gt=at)
        )


class Membership(models.Model):
    """One billing relationship: a person's own membership, or a practice's.

    A person keeps one row for life, so rejoining restores the same history. For a practice
    membership `user` is the practice admin (the buyer) and `practice` is set; its members are
    the holders of its seats (the admin holds one too).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending payment"
        ACTIVE = "active", "Active"
        GRACE = "grace", "In grace"
        LAPSED = "lapsed", "Lapsed"
        CANCELED = "canceled", "Canceled"

    LIVE_STATES = (State.ACTIVE, State.GRACE)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    practice = models.OneToOneField(
        Practice, null=True, blank=True, on_delete=models.PROTECT, related_name="membership"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="memberships")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    started_at = models.DateTimeField(null=True, blank=True, help_text="First activation.")
    current_period_end = models.DateTimeField(null=True, blank=True)
    grace_started_at = models.DateTimeField(null=True, blank=True)
    access_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="When member access stops unless renewed."
    )
    auto_renew = models.BooleanField(default=False)
    # Practice memberships only: the seat holder who casts the practice's vote in elections
    # that give a practice one vote. Empty means the practice admin (`user`).
    designated_voter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Practice memberships: who votes for the practice. Empty: the practice admin.",
    )
    is_complimentary = models.BooleanField(default=False)
    stripe_customer_id = models.CharField(max_length=80, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=80, blank=True, db_index=True)
    stripe_subscription_status = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MembershipQuerySet.as_manager()
    # Saved on every Stripe event; nothing links to a membership from content, so Wagtail's
    # reference index (which the admin viewset would keep for it) is only overhead.
    wagtail_reference_index_ignore = True

    class Meta:
        constraints = [
            # One personal membership per person; practice memberships are one per practice.
            models.UniqueConstraint(
                fields=["user"], condition=Q(practice__isnull=True), name="one_personal_membership"
            )
        ]
        indexes = [models.Index(fields=["state", "access_ends_at"])]

    def __str__(self):
        holder = self.practice.name if self.practice_id else self.user.get_full_name()
        return f"{holder or self.user.email} · {self.plan.name} ({self.get_state_display()})"

    @property
    def is_live(self) -> bool:
        return self.state in self.LIVE_STATES and (
            self.access_ends_at is None or self.access_ends_at > timezone.now()
        )

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def practice_name(self) -> str:
        return self.practice.name if self.practice_id else ""

    @property
    def practice_state(self) -> str:
        return self.practice.state if self.practice_id else ""


class Seat(models.Model):
    """A place on a practice membership: an invitation by email, then a person who holds it."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="seats")
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="seats",
    )
    token = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invited_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "email"],
                condition=Q(removed_at__isnull=True),
                name="one_open_seat_per_email",
            )
        ]

    def __str__(self):
        return f"{self.email} on {self.membership_id}"


class StateChange(models.Model):
    """Every change of a membership's state: who, when, why."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="history")
    from_state = models.CharField(max_length=20, choices=Membership.State.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=Membership.State.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.from_state or '—'} → {self.to_state}: {self.reason}"


class Payment(models.Model):
    """A dues invoice from Stripe, paid or not; receipts link to Stripe's hosted invoice."""

    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        OPEN = "open", "Open"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="payments")
    stripe_invoice_id = models.CharField(max_length=80, unique=True)
    stripe_payment_intent_id = models.CharField(max_length=80, blank=True, db_index=True)
    number = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    amount_cents = models.IntegerField()
    amount_refunded_cents = models.IntegerField(default=0)
    refunded_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="usd")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    invoice_pdf_url = models.URLField(max_length=500, blank=True)
    # Kept when an account is deleted: the books must still say who paid.
    billed_name = models.CharField(max_length=200, blank=True)
    billed_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "paid_at"])]

    def __str__(self):
        return f"{self.number or self.stripe_invoice_id} {self.amount_display} {self.status}"

    @property
    def amount_display(self) -> str:
        return f"${self.amount_cents / 100:,.2f}"

    @property
    def refunded_display(self) -> str:
        return f"${self.amount_refunded_cents / 100:,.2f}" if self.amount_refunded_cents else "—"


class Notice(models.Model):
    """The ledger of membership mail: one row per (membership, kind, key), sent once."""

    class Kind(models.TextChoices):
        WELCOME = "welcome", "Welcome"
        RENEWAL_30 = "renewal_30", "Renewal reminder, 30 days"
        RENEWAL_7 = "renewal_7", "Renewal reminder, 7 days"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        GRACE_WARNING = "grace_warning", "Grace period warning"
        LAPSED = "lapsed", "Membership lapsed"
        SEAT_INVITE = "seat_invite", "Practice seat invitation"
        ACCOUNT_INVITE = "account_invite", "Imported member: claim your account"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    key = models.CharField(max_length=80, help_text="What makes this notice unique, e.g. a date.")
    to_email = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "kind", "key"], name="notice_once")
        ]

    def __str__(self):
        return f"{self.kind} {self.key} to {self.to_email}"


class MemberProfile(models.Model):
    """What a member tells other members about themselves; the directory shows opted-in ones."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member_profile"
    )
    job_title = models.CharField(max_length=120, blank=True)
    practice_name = models.CharField(max_length=160, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    specialty = models.CharField("practice specialty", max_length=120, blank=True)
    in_directory = models.BooleanField(
        "list me in the member directory",
        default=False,
        help_text="Other active members see your name, title, practice, city and photo.",
    )
    photo = models.ImageField(upload_to="members/", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Profile of {self.user}"
