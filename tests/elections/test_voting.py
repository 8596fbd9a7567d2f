"""Casting a ballot: bad input is refused with a clear 4xx and changes nothing; a vote is
changed only where the election allows it; the close counts once."""

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from elections import services
from elections.models import AuditEntry, Ballot, Office, Participation
from tests.elections.conftest import add_candidate, add_office, form, make_election
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ballot_setup():
    election = make_election("voting")
    board = add_office(election, "Director", seats=2, allow_write_ins=True)
    chair = add_office(election, "Chair", method=Office.Method.RANKED)
    people = {name: add_candidate(board, name) for name in ("Ada", "Ben", "Cy")}
    ranked = {name: add_candidate(chair, name) for name in ("Dee", "Eve")}
    return election, board, chair, people, ranked


def _nothing_written(election):
    assert not Participation.objects.filter(election=election).exists()
    assert not Ballot.objects.filter(election=election).exists()


@pytest.mark.parametrize(
    "make_fields, status, text",
    [
        (lambda b, c, p, r: {f"office-{b.pk}": "n999999"}, 400, "not a candidate"),
        (
            lambda b, c, p, r: {f"office-{b.pk}": [p["Ada"].key, p["Ben"].key, p["Cy"].key]},
            400,
            "at most 2",
        ),
        (
            lambda b, c, p, r: {
                f"office-{b.pk}": [p["Ada"].key, p["Ben"].key],
                f"office-{b.pk}-write-in": "Zed",
            },
            400,
            "at most 2",
        ),
        (lambda b, c, p, r: {f"office-{b.pk}": [p["Ada"].key, p["Ada"].key]}, 400, "twice"),
        (
            lambda b, c, p, r: {
                f"office-{c.pk}-rank-1": r["Dee"].key,
                f"office-{c.pk}-rank-2": r["Dee"].key,
            },
            400,
            "twice",
        ),
        (lambda b, c, p, r: {f"office-{c.pk}-rank-3": r["Dee"].key}, 400, "too many choices"),
        (lambda b, c, p, r: {f"office-{c.pk}-rank-1": p["Ada"].key}, 400, "not a candidate"),
        (lambda b, c, p, r: {f"office-{c.pk}-write-in": "Zed"}, 400, "no write-in"),
        (lambda b, c, p, r: {"office-424242": "n1"}, 400, "not on it"),
    ],
)
def test_a_tampered_ballot_is_refused_whole(ballot_setup, make_fields, status, text):
    election, board, chair, people, ranked = ballot_setup
    with pytest.raises(services.Refusal) as caught:
        services.ballot_cast(
            election=election,
            user=MemberFactory(),
            data=form(**make_fields(board, chair, people, ranked)),
        )
    assert (caught.value.status, text in caught.value.message) == (status, True)
    _nothing_written(election)


def test_a_valid_ballot_stores_choices_in_rank_order_with_a_write_in(ballot_setup):
    election, board, chair, people, ranked = ballot_setup
    receipt = services.ballot_cast(
        election=election,
        user=MemberFactory(),
        data=form(
            **{
                f"office-{board.pk}": people["Ben"].key,
                f"office-{board.pk}-write-in": "  Zed   Writein ",
                f"office-{chair.pk}-rank-1": ranked["Eve"].key,
                f"office-{chair.pk}-rank-2": ranked["Dee"].key,
            }
        ),
    )
    ballot = Ballot.objects.get(receipt_code=receipt)
    assert ballot.choices == {
        str(board.pk): [people["Ben"].key, "w:Zed Writein"],
        str(chair.pk): [ranked["Eve"].key, ranked["Dee"].key],
    }


def test_voting_twice_is_refused_and_the_first_ballot_stands(ballot_setup):
    election, board, _, people, _ = ballot_setup
    voter = MemberFactory()
    services.ballot_cast(
        election=election, user=voter, data=form(**{f"office-{board.pk}": people["Ada"].key})
    )
    with pytest.raises(services.Refusal) as caught:
        services.ballot_cast(
            election=election, user=voter, data=form(**{f"office-{board.pk}": people["Ben"].key})
        )
    assert caught.value.status == 409
    assert [b.choices for b in Ballot.objects.filter(election=election)] == [
        {str(board.pk): [people["Ada"].key]}
    ]


def test_a_ballot_after_the_close_is_refused(ballot_setup):
    election, board, _, people, _ = ballot_setup
    election.voting_close_at = timezone.now() - timedelta(seconds=1)
    election.save()
    with pytest.raises(services.Refusal) as caught:
        services.ballot_cast(
            election=election,
            user=MemberFactory(),
            data=form(**{f"office-{board.pk}": people["Ada"].key}),
        )
    assert caught.value.status == 409 and "closed" in caught.value.message
    _nothing_written(election)


def test_a_vote_changes_only_where_allowed_and_only_with_the_receipt(ballot_setup):
    election, board, _, people, _ = ballot_setup
    voter = MemberFactory()
    receipt = services.ballot_cast(
        election=election, user=voter, data=form(**{f"office-{board.pk}": people["Ada"].key})
    )
    new = form(**{f"office-{board.pk}": people["Cy"].key})
    with pytest.raises(services.Refusal):
        services.ballot_change(election=election, user=voter, receipt_code=receipt, data=new)
    election.allow_vote_change = True
    election.save()
    with pytest.raises(services.Refusal):
        services.ballot_change(
            election=election, user=voter, receipt_code="AAAA-BBBB-CCCC", data=new
        )
    with pytest.raises(services.Refusal):  # someone who has not voted, holding a receipt
        services.ballot_change(
            election=election, user=MemberFactory(), receipt_code=receipt, data=new
        )
    services.ballot_change(election=election, user=voter, receipt_code=receipt.lower(), data=new)
    assert Ballot.objects.get(receipt_code=receipt).choices == {str(board.pk): [people["Cy"].key]}
    assert Ballot.objects.filter(election=election).count() == 1


def test_signed_links_belong_to_one_voter_and_one_election(ballot_setup):
    election, *_ = ballot_setup
    voter = MemberFactory()
    token = services.link_for(election, voter)
    assert services.user_from_link(election, token) == voter
    for bad in (token[:-2] + "xx", "made-up"):
        with pytest.raises(services.Refusal):
            services.user_from_link(election, bad)
    other = make_election("voting")
    with pytest.raises(services.Refusal):
        services.user_from_link(other, token)


def test_the_close_counts_once_and_the_recount_script_agrees(ballot_setup, tmp_path):
    election, board, chair, people, ranked = ballot_setup
    marks = [
        ([people["Ada"].key, people["Ben"].key], [ranked["Dee"].key]),
        ([people["Ada"].key], [ranked["Eve"].key, ranked["Dee"].key]),
        ([people["Cy"].key, people["Ada"].key], [ranked["Eve"].key]),
    ]
    voters = [MemberFactory() for _ in marks]
    for voter, (board_marks, chair_ranks) in zip(voters, marks, strict=True):
        fields = {f"office-{board.pk}": board_marks}
        fields.update({f"office-{chair.pk}-rank-{i}": k for i, k in enumerate(chair_ranks, 1)})
        services.ballot_cast(election=election, user=voter, data=form(**fields))
    assert not services.election_close(election)  # not before the deadline
    election.voting_close_at = timezone.now()
    election.save()
    assert services.election_close(election)
    assert not services.election_close(election)  # idempotent
    election.refresh_from_db()
    assert election.results[str(chair.pk)]["elected"] == [ranked["Eve"].key]
    assert election.results[str(board.pk)]["elected"][0] == people["Ada"].key
    assert AuditEntry.objects.filter(election=election, action="election closed").count() == 1

    export = services.election_export(election)
    assert [b["receipt"] for b in export["ballots"]] == sorted(
        b["receipt"] for b in export["ballots"]
    )
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    run = subprocess.run(
        [sys.executable, "-m", "elections.recount", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Eve Candidate" in run.stdout and "3 ballots recounted" in run.stdout
    export["results"][str(chair.pk)]["elected"] = [ranked["Dee"].key]
    path.write_text(json.dumps(export))
    tampered = subprocess.run(
        [sys.executable, "-m", "elections.recount", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tampered.returncode == 1 and "DIFFERS" in tampered.stdout


def test_a_ballot_before_voting_opens_is_refused_as_not_open():
    election = make_election("nominations")
    office = add_office(election)
    candidate = add_candidate(office, "Ada")
    with pytest.raises(services.Refusal) as caught:
        services.ballot_cast(
            election=election,
            user=MemberFactory(),
            data=form(**{f"office-{office.pk}": candidate.key}),
        )
    assert caught.value.status == 409 and "not opened" in caught.value.message
    _nothing_written(election)
