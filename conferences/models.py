"""The annual conference: pages for the programme, and the rows registration writes.

Content (the conference page, its agenda, speakers, sponsors) is edited in Wagtail. Seats are
never stored as counters: every capacity check counts the rows that hold a seat while the
capacity rows are locked, so a counter can never drift from the truth (see capacity.py).
"""

from __future__ import annotations

import secrets
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

# The registration form never offers more attendee forms than this, whatever staff set.
MAX_ATTENDEES_PER_ORDER = 20

# Ambiguous letters left out so a code read aloud at the desk is typed right.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def random_code(length: int = 10) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def format_cents(cents: int) -> str:
    return f"${cents / 100:,.2f}"


# --- Pages ------------------------------------------------------------------------------------


class ConferenceIndexPage(Page):
    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]

    parent_page_types = ["portal.HomePage"]
    subpage_types = ["conferences.ConferencePage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        pages = ConferencePage.objects.live().public().child_of(self).order_by("start_date")
        context["upcoming"] = [p for p in pages if p.end_date >= timezone.localdate()]
        context["past"] = [p for p in pages if p.end_date < timezone.localdate()][::-1]
        return context


class ConferencePage(Page):
    """One conference. Its row is also the conference-wide capacity lock (capacity.py)."""

    tagline = models.CharField(max_length=200, blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    venue_name = models.CharField(max_length=200)
    venue_address = models.CharField(max_length=300, blank=True)
    intro = RichTextField(blank=True)
    hotel_details = RichTextField(blank=True)
    travel_details = RichTextField(blank=True)
    registration_open = models.BooleanField(default=True)
    capacity = models.PositiveIntegerField(
        help_text="Most attendees the venue takes, over every ticket type."
    )
    max_attendees_per_order = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_ATTENDEES_PER_ORDER)],
        help_text="Most attendees one order may register (at most "
        f"{MAX_ATTENDEES_PER_ORDER}). Each account has one unpaid order at a time.",
    )
    substitution_cutoff = models.DateField(
        null=True, blank=True, help_text="Last day an order owner may swap an attendee."
    )
    full_refund_until = models.DateField(
        null=True, blank=True, help_text="Cancellations up to this day get everything back."
    )
    partial_refund_until = models.DateField(
        null=True, blank=True, help_text="Cancellations up to this day get the percentage below."
    )
    partial_refund_percent = models.PositiveSmallIntegerField(default=50)
    # Pay by invoice (check or ACH): offered on orders of at least this total; seats stay held
    # until the invoice's due date, counted like every other hold.
    invoice_min_total_cents = models.PositiveIntegerField(
        "pay by invoice from (cents)",
        null=True,
        blank=True,
        help_text="Orders of at least this total may be paid by invoice. Empty: card only.",
    )
    invoice_hold_days = models.PositiveSmallIntegerField(
        "days to pay an invoice",
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="Seats of an order paid by invoice stay held this many days, then are released.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("tagline"),
        FieldRowPanel([FieldPanel("start_date"), FieldPanel("end_date")]),
        MultiFieldPanel([FieldPanel("venue_name"), FieldPanel("venue_address")], heading="Venue"),
        FieldPanel("intro"),
        FieldPanel("hotel_details"),
        FieldPanel("travel_details"),
        MultiFieldPanel(
            [
                FieldPanel("registration_open"),
                FieldPanel("capacity"),
                FieldPanel("max_attendees_per_order"),
                FieldPanel("substitution_cutoff"),
            ],
            heading="Registration",
        ),
        MultiFieldPanel(
            [
                FieldPanel("full_refund_until"),
                FieldRowPanel(
                    [FieldPanel("partial_refund_until"), FieldPanel("partial_refund_percent")]
                ),
            ],
            heading="Cancellation policy",
        ),
        MultiFieldPanel(
            [FieldPanel("invoice_min_total_cents"), FieldPanel("invoice_hold_days")],
            heading="Pay by invoice",
        ),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("tagline")]

    parent_page_types = ["conferences.ConferenceIndexPage"]
    subpage_types: list[str] = []

    def refund_percent(self, on: date) -> int:
        """The share of the price refunded for a cancellation made on `on`."""
        if self.full_refund_until and on <= self.full_refund_until:
            return 100
        if self.partial_refund_until and on <= self.partial_refund_until:
            return self.partial_refund_percent
        return 0

    def substitution_allowed(self, on: date) -> bool:
        cutoff = self.substitution_cutoff or self.start_date
        return on <= cutoff

    def agenda(self):
        """Days, each a list of time slots, each a list of sessions (parallel ones together)."""
        sessions = self.sessions.prefetch_related("speakers").order_by("starts_at", "sort_order")
        days: dict = {}
        for session in sessions:
            local = timezone.localtime(session.starts_at)
            day = days.setdefault(local.date(), {})
            day.setdefault(session.starts_at, []).append(session)
        return [
            {"date": day, "slots": [{"starts_at": k, "sessions": v} for k, v in slots.items()]}
            for day, slots in days.items()
        ]

    def get_context(self, request, *args, **kwargs):
        from . import selectors  # local: conferences.selectors imports this module

        context = super().get_context(request, *args, **kwargs)
        context.update(selectors.conference_page_context(conference=self, user=request.user))
        return context


# --- Programme ----------------------------------------------------------------------------------


class Speaker(models.Model):
    conference = models.ForeignKey(
        ConferencePage, on_delete=models.CASCADE, related_name="speakers"
    )
    name = models.CharField(max_length=120)
    job_title = models.CharField(max_length=160, blank=True)
    organization = models.CharField(max_length=160, blank=True)
    bio = models.TextField(blank=True)
    photo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    class Kind(models.TextChoices):
        PLENARY = "plenary", "Plenary"
        BREAKOUT = "breakout", "Break-out"

    conference = models.ForeignKey(
        ConferencePage, on_delete=models.CASCADE, related_name="sessions"
    )
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PLENARY)
    starts_at = models.DateTimeField(help_text="Break-outs starting together run in parallel.")
    ends_at = models.DateTimeField()
    room = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    speakers = models.ManyToManyField(Speaker, blank=True, related_name="sessions")
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seats for a break-out; plenaries seat everyone."
    )
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at", "sort_order", "pk"]
        constraints = [
            models.CheckConstraint(
                name="breakout_has_capacity",
                condition=~Q(kind="breakout") | Q(capacity__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_breakout(self) -> bool:
        return self.kind == self.Kind.BREAKOUT


class Sponsor(models.Model):
    class Tier(models.TextChoices):
        PLATINUM = "platinum", "Platinum"
        GOLD = "gold", "Gold"
        SILVER = "silver", "Silver"
        EXHIBITOR = "exhibitor", "Exhibitor"

    conference = models.ForeignKey(
        ConferencePage, on_delete=models.CASCADE, related_name="sponsors"
    )
    name = models.CharField(max_length=160)
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.GOLD)
    url = models.URLField(blank=True)
    blurb = models.TextField(blank=True)
    logo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


# --- Tickets and codes ----------------------------------------------------------------------


class TicketType(models.Model):
    class Kind(models.TextChoices):
        FULL = "full", "Full conference"
        DAY = "day", "One day"
        GUEST = "guest", "Guest"
        EXHIBITOR = "exhibitor", "Exhibitor"

    conference = models.ForeignKey(
        ConferencePage, on_delete=models.CASCADE, related_name="ticket_types"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FULL)
    description = models.CharField(max_length=300, blank=True)
    day = models.DateField(null=True, blank=True, help_text="For a one-day ticket: which day.")
    member_price_cents = models.PositiveIntegerField()
    non_member_price_cents = models.PositiveIntegerField()
    early_bird_member_price_cents = models.PositiveIntegerField(null=True, blank=True)
    early_bird_non_member_price_cents = models.PositiveIntegerField(null=True, blank=True)
    early_bird_until = models.DateTimeField(null=True, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    includes_breakouts = models.BooleanField(
        default=True, help_text="Holders choose one break-out per time slot."
    )
    requires_code = models.BooleanField(
        "Hidden: needs an access code",
        default=False,
        help_text="Not shown on the conference page; only an access code that unlocks it "
        "shows and sells it (exhibitor, speaker, staff and comp tickets).",
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        # A free ticket anyone can take lets one account mail "tickets" to any address.
        free = not self.member_price_cents and not self.non_member_price_cents
        if free and not self.requires_code:
            raise ValidationError(
                {"requires_code": "A free ticket type must be hidden behind an access code."}
            )

    def is_early_bird(self, at=None) -> bool:
        at = at or timezone.now()
        return bool(self.early_bird_until and at <= self.early_bird_until)

    def price_cents(self, tier: str, at=None) -> int:
        """The price for a membership tier ("member"/"non_member") at a moment."""
        member = tier == "member"
        if self.is_early_bird(at):
            early = (
                self.early_bird_member_price_cents
                if member
                else self.early_bird_non_member_price_cents
            )
            if early is not None:
                return early
        return self.regular_price_cents(tier)

    def regular_price_cents(self, tier: str) -> int:
        """The price for a tier outside the early-bird window."""
        return self.member_price_cents if tier == "member" else self.non_member_price_cents

    def allows_session(self, session: Session) -> bool:
        if not self.includes_breakouts:
            return False
        return self.day is None or timezone.localtime(session.starts_at).date() == self.day


class DiscountCode(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        AMOUNT = "amount", "Amount off per ticket"

    conference = models.ForeignKey(
        ConferencePage, on_delete=models.CASCADE, related_name="discount_codes"
    )
    code = models.CharField(max_length=40, help_text="Stored in capitals; matched ignoring case.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.PositiveIntegerField(help_text="Percent (1-100) or cents off each ticket.")
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="Tickets it may discount in total; empty: no limit."
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    ticket_types = models.ManyToManyField(
        TicketType, blank=True, help_text="Empty: every ticket type."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conference", "code"], name="unique_code_per_conference"
            )
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        # Normalising the key itself is not business logic: lookups rely on capitals.
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)

    def discount_for(self, price_cents: int) -> int:
        if self.kind == self.Kind.PERCENT:
            return price_cents * min(self.value, 100) // 100
        return min(self.value, price_cents)


class AccessCode(models.Model):
    """Unlocks hidden ticket types (as pretix's vouchers do): whoever holds the code sees
    and may buy them, up to `max_uses` tickets in all, until `valid_until`."""

    conference = models.ForeignKey(
        ConferencePage, on_delete=models.CASCADE, related_name="access_codes"
    )
    code = models.CharField(
        max_length=40,
        default=random_code,
        help_text="Stored in capitals; matched ignoring case. The suggested one is random.",
    )
    ticket_types = models.ManyToManyField(
        TicketType, related_name="access_codes", help_text="The hidden ticket types it unlocks."
    )
    max_uses = models.PositiveIntegerField(
        default=1, help_text="Tickets it may unlock in total, over every order."
    )
    valid_until = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for; staff only.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conference", "code"], name="unique_access_code_per_conference"
            )
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        # As for discount codes: lookups rely on capitals.
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)

    def is_valid(self, at=None) -> bool:
        return self.valid_until is None or (at or timezone.now()) <= self.valid_until


# --- Orders and attendees -------------------------------------------------------------------


class Order(models.Model):
    class Status(models.TextChoices):
        HELD = "held", "Awaiting payment"
        PAID = "paid", "Confirmed"
        EXPIRED = "expired", "Expired"
        # Stored as "cancelled" since the first release; only the Python name and the label
        # are US spelling, so no row has to be rewritten.
        CANCELED = "cancelled", "Canceled"

    conference = models.ForeignKey(ConferencePage, on_delete=models.PROTECT, related_name="orders")
    code = models.CharField(max_length=12, unique=True, default=random_code)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conference_orders"
    )
    email = models.EmailField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.HELD, db_index=True
    )
    price_tier = models.CharField(max_length=12)
    discount_code = models.ForeignKey(
        DiscountCode, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    access_code = models.ForeignKey(
        AccessCode, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    subtotal_cents = models.PositiveIntegerField(default=0)
    discount_cents = models.PositiveIntegerField(default=0)
    total_cents = models.PositiveIntegerField(default=0)
    refunded_cents = models.PositiveIntegerField(default=0)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    stripe_checkout_session_id = models.CharField(max_length=255, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The column keeps its first name, "cancelled_at"; the attribute is US spelling.
    canceled_at = models.DateTimeField(null=True, blank=True, db_column="cancelled_at")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "hold_expires_at"])]
        constraints = [
            # One unpaid order per account and conference, so one account cannot hold a
            # break-out's every seat with several carts (services.order_create says which).
            models.UniqueConstraint(
                fields=["conference", "owner"],
                condition=Q(status="held"),
                name="one_unpaid_order_per_owner",
            )
        ]

    def __str__(self) -> str:
        return f"Order {self.code}"

    def hold_lapsed(self, at=None) -> bool:
        """An unpaid order past its hold: it can no longer be paid, only registered again."""
        return (
            self.status == self.Status.HELD
            and self.hold_expires_at is not None
            and self.hold_expires_at <= (at or timezone.now())
        )

    @property
    def total_display(self) -> str:
        return format_cents(self.total_cents)


# Order statuses that occupy seats. An expired or canceled order holds nothing.
SEAT_HOLDING_STATUSES = (Order.Status.HELD, Order.Status.PAID)


class Attendee(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attendees")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="attendees")
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    email = models.EmailField()
    practice = models.CharField(max_length=160, blank=True)
    dietary_needs = models.CharField(max_length=300, blank=True)
    accessibility_needs = models.CharField(max_length=300, blank=True)
    price_cents = models.PositiveIntegerField(default=0)
    discount_cents = models.PositiveIntegerField(default=0)
    ticket_code = models.CharField(max_length=12, unique=True, default=random_code)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sessions = models.ManyToManyField(Session, through="BreakoutChoice", related_name="attendees")

    class Meta:
        ordering = ["pk"]
        # The check-in role: the check-in screen and nothing else of the staff pages.
        permissions = [("check_in_attendee", "Can check attendees in")]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class BreakoutChoice(models.Model):
    """An attendee's seat in a break-out. `slot_starts_at` copies the session's start so the
    database itself refuses two break-outs in one time slot."""

    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="choices")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="choices")
    slot_starts_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["attendee", "slot_starts_at"], name="one_breakout_per_slot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.attendee} in {self.session}"


# --- Waitlist -------------------------------------------------------------------------------


class WaitlistEntry(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        LAPSED = "lapsed", "Offer lapsed"

    conference = models.ForeignKey(
        ConferencePage, on_delete=models.CASCADE, related_name="waitlist"
    )
    ticket_type = models.ForeignKey(TicketType, on_delete=models.CASCADE, related_name="waitlist")
    # A break-out waitlist entry: an attendee who already has a ticket waits for a seat in a
    # full break-out; the offer moves them into it (their other choice in that slot is freed).
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.CASCADE, related_name="waitlist"
    )
    attendee = models.ForeignKey(
        Attendee, null=True, blank=True, on_delete=models.CASCADE, related_name="waitlist"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conference_waitlist"
    )
    email = models.EmailField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.WAITING, db_index=True
    )
    token = models.CharField(max_length=43, unique=True, default=secrets.token_urlsafe)
    created_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["ticket_type", "user"],
                condition=Q(status__in=["waiting", "offered"], session__isnull=True),
                name="one_open_waitlist_entry",
            ),
            models.UniqueConstraint(
                fields=["session", "attendee"],
                condition=Q(status__in=["waiting", "offered"], session__isnull=False),
                name="one_open_breakout_waitlist_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} waiting for {self.session or self.ticket_type}"


# --- Ledgers --------------------------------------------------------------------------------


class SentMail(models.Model):
    """One row per mail the conference app sent, so a retried task never sends it twice."""

    key = models.CharField(max_length=120, unique=True)
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key


class Refund(models.Model):
    class Status(models.TextChoices):
        # Ours: queued, or nothing to give back (the order was never charged through Stripe).
        PENDING = "pending", "Pending"
        NOTHING_TO_REFUND = "nothing-to-refund", "Nothing to refund"
        # Stripe's own refund statuses, stored as Stripe reports them.
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"
        REQUIRES_ACTION = "requires_action", "Requires action"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Refund {format_cents(self.amount_cents)} on {self.order}"
