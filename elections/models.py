"""Board elections with a secret ballot.

Who voted and how they voted live in tables that share nothing but the election:

- `Elector` (the voter roll, frozen at the cut-off) and `Participation` (one row per person who
  voted, unique per election) name people.
- `Ballot` names nobody: a random UUID key, a random receipt code, the choices, and no time
  (the election's own dates are the only clock it has). Nothing orders ballots by arrival.

tests/elections/test_secrecy.py reads these models' _meta and the database's introspection
and fails if a column, key or default ordering could tie a ballot to a voter.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.text import slugify


def _seed() -> str:
    return secrets.token_hex(16)


def _receipt() -> str:
    # 12 characters in four-character groups, from an alphabet without look-alikes.
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


class Election(models.Model):
    class PracticeRule(models.TextChoices):
        # The values are membership.access's PRACTICE_* constants.
        DESIGNATED = "designated", "Each practice's designated voter"
        EVERY_SEAT = "every_seat", "Every seat holder"

    class Phase(models.TextChoices):
        UPCOMING = "upcoming", "Upcoming"
        NOMINATIONS = "nominations", "Nominations open"
        BETWEEN = "between", "Nominations closed"
        VOTING = "voting", "Voting open"
        COUNTING = "counting", "Counting"
        CLOSED = "closed", "Results published"

    title = models.CharField(max_length=160)
    slug = models.SlugField(max_length=80, unique=True, blank=True)
    description = models.TextField(blank=True)
    nominations_open_at = models.DateTimeField()
    nominations_close_at = models.DateTimeField()
    eligibility_cutoff = models.DateTimeField(
        "voter cut-off",
        help_text="Members with a live voting membership at this moment may vote. "
        "No later than the opening of voting.",
    )
    voting_open_at = models.DateTimeField()
    voting_close_at = models.DateTimeField()
    practice_rule = models.CharField(
        "practice memberships vote through",
        max_length=20,
        choices=PracticeRule.choices,
        default=PracticeRule.DESIGNATED,
    )
    allow_vote_change = models.BooleanField(
        "voters may change their vote before the close", default=False
    )
    tie_seed = models.CharField(
        max_length=64,
        default=_seed,
        help_text="Published before voting opens; ties are broken by lot drawn from it.",
    )
    # Written by the services, never by the form.
    roll_frozen_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    results = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-voting_open_at", "pk"]

    def __str__(self):
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = slugify(self.title)[:80]
        super().save(*args, **kwargs)

    def clean(self):
        order = [
            ("nominations_open_at", self.nominations_open_at),
            ("nominations_close_at", self.nominations_close_at),
            ("voting_open_at", self.voting_open_at),
            ("voting_close_at", self.voting_close_at),
        ]
        for (_, earlier), (name, later) in itertools.pairwise(order):
            if earlier and later and later <= earlier:
                raise ValidationError({name: "Each date must come after the one before it."})
        if (
            self.eligibility_cutoff
            and self.voting_open_at
            and self.eligibility_cutoff > self.voting_open_at
        ):
            raise ValidationError(
                {"eligibility_cutoff": "The cut-off must not be after voting opens."}
            )
        if self.pk:
            saved = Election.objects.filter(pk=self.pk).first()
            if saved and saved.voting_open_at <= timezone.now():
                raise ValidationError("Voting has opened: the election can no longer be edited.")

    def phase(self, now=None) -> str:
        now = now or timezone.now()
        if self.closed_at:
            return self.Phase.CLOSED
        if now >= self.voting_close_at:
            return self.Phase.COUNTING
        if now >= self.voting_open_at:
            return self.Phase.VOTING
        if now >= self.nominations_close_at:
            return self.Phase.BETWEEN
        if now >= self.nominations_open_at:
            return self.Phase.NOMINATIONS
        return self.Phase.UPCOMING

    @property
    def phase_label(self) -> str:
        return self.Phase(self.phase()).label


class Office(models.Model):
    class Method(models.TextChoices):
        PLURALITY = "plurality", "Plurality: mark up to as many as there are seats"
        RANKED = "ranked", "Ranked choice (instant runoff; single transferable vote)"

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="offices")
    title = models.CharField(max_length=120)
    seats = models.PositiveSmallIntegerField(default=1)
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.PLURALITY)
    allow_write_ins = models.BooleanField("write-ins allowed", default=False)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return f"{self.title} ({self.election})"

    def clean(self):
        election = Election.objects.filter(pk=self.election_id).first()
        if election and election.voting_open_at <= timezone.now():
            raise ValidationError("Voting has opened: its offices can no longer change.")
        if self.seats is not None and self.seats < 1:
            raise ValidationError({"seats": "An office has at least one seat."})


class Nomination(models.Model):
    """A member put forward for an office, by themselves or someone else. Stands on the ballot
    once the nominee accepted and staff approved."""

    class Status(models.TextChoices):
        AWAITING_NOMINEE = "awaiting_nominee", "Waiting for the nominee to accept"
        DECLINED = "declined", "Declined by the nominee"
        AWAITING_STAFF = "awaiting_staff", "Waiting for staff approval"
        APPROVED = "approved", "On the ballot"
        REJECTED = "rejected", "Not approved"

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="nominations")
    nominee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="nominations"
    )
    nominated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    display_name = models.CharField(max_length=160)
    statement = models.TextField(blank=True)
    photo = models.ImageField(upload_to="elections/candidates/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["display_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["office", "nominee"], name="one_nomination_per_office")
        ]

    def __str__(self):
        return f"{self.display_name} for {self.office.title}"

    @property
    def key(self) -> str:
        """How ballots and results name this candidate."""
        return f"n{self.pk}"


class Elector(models.Model):
    """The voter roll: who may vote, frozen at the cut-off (services.roll_freeze)."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="electors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["election", "user"], name="one_elector_per_election")
        ]

    def __str__(self):
        return f"Elector {self.user_id} in {self.election_id}"


class Participation(models.Model):
    """That a person voted (never how). Its unique constraint is the one-ballot rule: it is
    written in the same transaction as the ballot."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="participations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    voted_at = models.DateTimeField(default=timezone.now)
    changes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["election", "user"], name="one_participation_per_voter")
        ]

    def __str__(self):
        return f"Voter {self.user_id} in {self.election_id}"


class Ballot(models.Model):
    """How someone voted, with nothing that says who: see the module docstring.

    `choices` maps an office id (as a string) to the candidate keys marked, in rank order for
    ranked offices: "n<nomination id>" or "w:<write-in name>".
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="ballots")
    receipt_code = models.CharField(max_length=14, unique=True, default=_receipt)
    choices = models.JSONField(default=dict)

    class Meta:
        # Listed by receipt code, a random value: never in the order they arrived.
        ordering = ["receipt_code"]

    def __str__(self):
        return f"Ballot {self.receipt_code}"


class MailLedger(models.Model):
    """One row per mail an election sends a person, claimed before it is sent."""

    class Kind(models.TextChoices):
        CALL_FOR_NOMINATIONS = "call", "Call for nominations"
        OPENING = "opening", "Voting is open"
        REMINDER = "reminder", "Reminder"
        RESULTS = "results", "Results"

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="mail")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A reminder to someone who voted between queuing and sending is skipped, not sent.
    skipped = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["election", "kind", "user"], name="one_election_mail_per_kind"
            )
        ]

    def __str__(self):
        return f"{self.kind} to {self.user_id} ({self.election_id})"


class AuditEntry(models.Model):
    """A staff action on an election: who did what, when."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="audit")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60)
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
