"""Continuing education: credit types, the credit ledger, certificates, and what a conference
session adds (hours, the rule for earning them, attendance, evaluations).

The ledger is the truth about hours: one `CreditRecord` per member, source and credit type,
under a unique constraint, so granting the same credit twice (a retried task, a second scan)
finds the row already there. Certificates copy what they certify (name, event, hours) when
issued, so a later edit to a session or a credit type never changes a certificate someone
already printed; a wrong one is revoked and reissued.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Ambiguous letters left out: a number read off paper is typed right.
NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
NUMBER_LENGTH = 10


def certificate_number() -> str:
    """A certificate's number: CE- and 10 random letters and digits (about 50 bits), so a
    number cannot be guessed from another."""
    return "CE-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))


def room_code() -> str:
    """The code shown in the room for self check-in: six characters, easy to read aloud."""
    return "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(6))


class SourceKind(models.TextChoices):
    SESSION = "session", "Conference session"
    CONFERENCE = "conference", "Conference"
    COURSE = "course", "Course"
    OUTSIDE = "outside", "Outside event"


class CreditType(models.Model):
    """A kind of continuing-education credit (CRMS, CMPM, general CEU). Data, not code."""

    code = models.CharField(max_length=16, unique=True, help_text="Short name, e.g. CRMS.")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.code


hours_validators = [MinValueValidator(Decimal("0.25")), MaxValueValidator(Decimal("999"))]


class CreditRecord(models.Model):
    """Hours of one credit type a member earned from one source."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_records"
    )
    source_kind = models.CharField(max_length=12, choices=SourceKind.choices)
    # What the hours came from, in the source's own terms ("session:12", "course:4", or a
    # staff-chosen reference for an outside event); with member and type, the grant's key.
    source_ref = models.CharField(max_length=80)
    title = models.CharField(max_length=200, help_text="The session, course or event.")
    provider = models.CharField(
        max_length=200, blank=True, help_text="The conference, or who ran the outside event."
    )
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT, related_name="records")
    hours = models.DecimalField(max_digits=6, decimal_places=2, validators=hours_validators)
    earned_on = models.DateField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Staff who entered hours from an outside event.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-earned_on", "title", "credit_type__sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "source_kind", "source_ref", "credit_type"],
                name="one_credit_per_member_source_type",
            )
        ]

    def __str__(self) -> str:
        return f"{self.hours} {self.credit_type} for {self.member} ({self.title})"


class Certificate(models.Model):
    """A certificate as issued: what it says is copied here, and never edited afterwards."""

    number = models.CharField(max_length=20, unique=True, default=certificate_number)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certificates"
    )
    holder_name = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    event_title = models.CharField(max_length=200, blank=True)
    source_kind = models.CharField(max_length=12, choices=SourceKind.choices)
    source_ref = models.CharField(max_length=80)
    # {"CRMS": "3.50", ...} in credit-type order, and the sessions or lessons it covers.
    hours = models.JSONField(default=dict)
    items = models.JSONField(default=list, blank=True)
    earned_on = models.DateField()
    issued_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField(max_length=300, blank=True)
    reissued_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reissued_as"
    )
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            # One valid certificate per member and source: issuing twice finds the first.
            models.UniqueConstraint(
                fields=["member", "source_kind", "source_ref"],
                condition=Q(revoked_at__isnull=True),
                name="one_valid_certificate_per_source",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None

    @property
    def hours_list(self) -> list[tuple[str, str]]:
        return [(code, str(hours)) for code, hours in self.hours.items()]

    @property
    def total_hours(self) -> Decimal:
        return sum((Decimal(str(h)) for h in self.hours.values()), Decimal("0"))


# --- What a conference session adds ---------------------------------------------------------


class SessionCredit(models.Model):
    """Hours of one credit type a conference session is worth."""

    session = models.ForeignKey(
        "conferences.Session", on_delete=models.CASCADE, related_name="ce_credits"
    )
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT, related_name="+")
    hours = models.DecimalField(max_digits=5, decimal_places=2, validators=hours_validators)

    class Meta:
        ordering = ["session__starts_at", "credit_type__sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "credit_type"], name="one_hours_per_session_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hours} {self.credit_type}: {self.session}"


class SessionRule(models.Model):
    """How a session's hours are earned, and the self check-in code and window."""

    class Rule(models.TextChoices):
        CHECK_IN = "check-in", "Checked in at the session"
        CHECK_IN_AND_EVALUATION = "check-in+evaluation", "Checked in and evaluation submitted"

    session = models.OneToOneField(
        "conferences.Session", on_delete=models.CASCADE, related_name="ce_rule"
    )
    rule = models.CharField(max_length=24, choices=Rule.choices, default=Rule.CHECK_IN)
    room_code = models.CharField(
        max_length=12,
        default=room_code,
        help_text="Shown in the room; attendees type it on their ticket page to check in.",
    )
    opens_minutes_before = models.PositiveSmallIntegerField(
        default=15, help_text="Self check-in opens this many minutes before the start."
    )
    closes_minutes_after_start = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Self check-in closes this many minutes after the start; empty: at the end.",
    )

    def __str__(self) -> str:
        return f"{self.session}: {self.get_rule_display()}"

    def save(self, *args, **kwargs):
        # Lookups compare capitals, as the codes are read aloud and typed on phones.
        self.room_code = self.room_code.strip().upper()
        super().save(*args, **kwargs)

    @property
    def needs_evaluation(self) -> bool:
        return self.rule == self.Rule.CHECK_IN_AND_EVALUATION

    def window(self) -> tuple[datetime, datetime]:
        """When self check-in is accepted: (opens, closes)."""
        session = self.session
        opens = session.starts_at - timedelta(minutes=self.opens_minutes_before)
        if self.closes_minutes_after_start is None:
            closes = session.ends_at
        else:
            closes = session.starts_at + timedelta(minutes=self.closes_minutes_after_start)
        return opens, closes


class SessionAttendance(models.Model):
    """An attendee was at a session: scanned at the door or checked in with the room code."""

    class Method(models.TextChoices):
        DOOR = "door", "Scanned at the door"
        SELF = "self", "Room code"
        STAFF = "staff", "Entered by staff"

    session = models.ForeignKey(
        "conferences.Session", on_delete=models.PROTECT, related_name="ce_attendance"
    )
    attendee = models.ForeignKey(
        "conferences.Attendee", on_delete=models.CASCADE, related_name="ce_attendance"
    )
    checked_in_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8, choices=Method.choices)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The evaluation invitation, sent once (portal.sendonce) after the session ends.
    evaluation_mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["checked_in_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "attendee"], name="one_check_in_per_session")
        ]

    def __str__(self) -> str:
        return f"{self.attendee} at {self.session}"


# --- Evaluations ------------------------------------------------------------------------------


class EvaluationQuestion(models.Model):
    """A question of the session survey. Questions without a conference are the default set,
    asked at every conference that has none of its own."""

    class Kind(models.TextChoices):
        RATING = "rating", "Rating 1-5"
        COMMENT = "comment", "Comment"

    conference = models.ForeignKey(
        "conferences.ConferencePage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="evaluation_questions",
    )
    text = models.CharField(max_length=300)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.RATING)
    required = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return self.text


class EvaluationSubmission(models.Model):
    """Who evaluated a session, and when; never what they answered (see EvaluationAnswer)."""

    session = models.ForeignKey(
        "conferences.Session", on_delete=models.PROTECT, related_name="ce_evaluations"
    )
    attendee = models.ForeignKey(
        "conferences.Attendee", on_delete=models.CASCADE, related_name="ce_evaluations"
    )
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "attendee"], name="one_evaluation_per_session"
            )
        ]

    def __str__(self) -> str:
        return f"{self.attendee} evaluated {self.session}"


class EvaluationAnswer(models.Model):
    """One answer, with no attendee, no time and a random key: results are anonymous, as
    elections' ballots are. Nothing links an answer to a submission but the session."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(
        "conferences.Session", on_delete=models.PROTECT, related_name="ce_answers"
    )
    question = models.ForeignKey(EvaluationQuestion, on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Answer to {self.question}"
