"""The close: at the deadline the beat task counts the ballots once and publishes them.

Promises:
- election_close is idempotent: it takes the election row lock (which every ballot_cast
  takes too), does nothing before the deadline or a second time, and otherwise counts,
  stores the results and sets closed_at in one transaction.
- The results are computed from the same export anyone can download (election_export), by
  elections.tally, so `python -m elections.recount export.json` gets the same answer.
- Nothing counts a ballot before the close; no tally exists while voting is open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import tally
from ..models import Ballot, Election
from .common import audit
from .voting import ballot_options


def election_export(election: Election, *, with_results: bool = True) -> dict[str, Any]:
    """The published record of a closed election: offices, candidates, the tie seed, every
    ballot (receipt code and choices, ordered by receipt code) and the results."""
    offices = []
    for office, candidates in ballot_options(election):
        offices.append(
            {
                "id": office.pk,
                "title": office.title,
                "seats": office.seats,
                "method": office.method,
                "write_ins": office.allow_write_ins,
                "candidates": [{"key": n.key, "name": n.display_name} for n in candidates],
            }
        )
    export: dict[str, Any] = {
        "election": {"id": election.pk, "title": election.title, "slug": election.slug},
        "tie_seed": election.tie_seed,
        "tie_rule": "sha256('<seed>:<office id>:<round>:<candidate key>'), highest wins a tie",
        "offices": offices,
        "ballots": [
            {"receipt": b.receipt_code, "choices": b.choices}
            for b in Ballot.objects.filter(election=election).order_by("receipt_code")
        ],
    }
    if with_results:
        export["results"] = election.results
    return export


def election_close(election: Election, *, now: datetime | None = None) -> bool:
    """Count and publish `election` if its voting has ended and it is not closed yet.
    Returns True when this call closed it."""
    now = now or timezone.now()
    with transaction.atomic():
        election = Election.objects.select_for_update().get(pk=election.pk)
        if election.closed_at is not None or now < election.voting_close_at:
            return False
        # Rewrite the ballots in receipt-code order, so their physical order in the table
        # says nothing about the order people voted in (see docs/architecture.md).
        ballots = list(Ballot.objects.filter(election=election).order_by("receipt_code"))
        Ballot.objects.filter(election=election).delete()
        Ballot.objects.bulk_create(ballots)
        election.results = tally.count_export(election_export(election, with_results=False))
        election.closed_at = now
        election.save(update_fields=["results", "closed_at"])
        audit(
            election=election,
            actor=None,
            action="election closed",
            detail=f"{len(ballots)} ballots counted",
        )
    return True
