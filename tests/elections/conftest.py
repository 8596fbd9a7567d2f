"""An election in whatever phase a test needs, with offices and approved candidates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from elections.models import Election, Nomination, Office
from tests.factories import MemberFactory, StaffFactory

DAY = timedelta(days=1)


def make_election(phase: str = "voting", **fields) -> Election:
    """An election whose dates put it in `phase` now: "nominations", "voting" or "ended"."""
    now = timezone.now()
    if phase == "nominations":
        start = now - DAY
    elif phase == "voting":
        start = now - 10 * DAY
    elif phase == "ended":
        start = now - 20 * DAY
    else:
        raise ValueError(phase)
    values = {
        "title": f"Board election {Election.objects.count() + 1}",
        "nominations_open_at": start,
        "nominations_close_at": start + 3 * DAY,
        "eligibility_cutoff": start + 4 * DAY,
        "voting_open_at": start + 5 * DAY,
        "voting_close_at": start + 15 * DAY,
    }
    values.update(fields)
    return Election.objects.create(**values)


def add_office(election, title="Director", seats=1, method=Office.Method.PLURALITY, **kw):
    return Office.objects.create(election=election, title=title, seats=seats, method=method, **kw)


def add_candidate(office, name: str, status=Nomination.Status.APPROVED) -> Nomination:
    member = MemberFactory(first_name=name, last_name="Candidate")
    return Nomination.objects.create(
        office=office,
        nominee=member,
        nominated_by=member,
        status=status,
        display_name=f"{name} Candidate",
        statement=f"I am {name}.",
    )


def form(**fields) -> MultiValueDict:
    """A submitted form: each value a string or a list of strings."""
    return MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in fields.items()})


@pytest.fixture
def staff():
    return StaffFactory(is_superuser=True)
