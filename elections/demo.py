"""Demo: the next board election, with nominations open and two candidates already approved."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from .models import Election, Nomination, Office

SLUG = "board-election"

CANDIDATES = [
    (
        "denise.carter@demo.norm.local",
        "Director",
        "Twelve years running a six-physician "
        "practice; I want the board to push for simpler prior authorizations.",
    ),
    (
        "marcus.nguyen@demo.norm.local",
        "President",
        "I chaired the education committee for two "
        "years and would keep the annual conference affordable for small practices.",
    ),
]


def load(stdout) -> None:
    if Election.objects.filter(slug=SLUG).exists():
        return
    start = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=2)
    election = Election.objects.create(
        title=f"NORM board election {(start + timedelta(days=40)).year}",
        slug=SLUG,
        description="Three directors and the president serve two-year terms from the annual "
        "meeting. Any current member may stand.",
        nominations_open_at=start,
        nominations_close_at=start + timedelta(days=21),
        eligibility_cutoff=start + timedelta(days=22),
        voting_open_at=start + timedelta(days=23),
        voting_close_at=start + timedelta(days=37),
    )
    offices = {
        "Director": Office.objects.create(
            election=election, title="Director", seats=3, allow_write_ins=True, sort_order=1
        ),
        "President": Office.objects.create(
            election=election, title="President", seats=1, method=Office.Method.RANKED
        ),
    }
    users = get_user_model().objects
    for email, office, statement in CANDIDATES:
        person = users.filter(email=email).first()
        if person is None:
            continue
        Nomination.objects.create(
            office=offices[office],
            nominee=person,
            nominated_by=person,
            status=Nomination.Status.APPROVED,
            display_name=person.get_full_name(),
            statement=statement,
            responded_at=start,
            reviewed_at=start,
        )
    stdout.write("Demo election with nominations open.")
