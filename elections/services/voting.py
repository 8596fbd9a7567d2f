"""Voting: the roll, the signed link, the ballot and the one-ballot rule.

Promises:
- Only people on the roll vote. The roll (Elector) is frozen once, at the cut-off, from
  membership.access.voting_members; a person not on it is told why (voter_check).
- One ballot per voter per election. The Participation row (unique per election and user) and
  the Ballot are written in one transaction, under a lock on the election row that the close
  also takes, so no ballot lands after the count.
- A ballot carries nothing about its voter: not their id, not a time (see models).
- A form that names an unknown candidate, an unknown office or too many choices is refused
  whole, and nothing is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from membership import access

from ..models import Ballot, Election, Elector, Nomination, Office, Participation
from .common import Refusal

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.utils.datastructures import MultiValueDict

LINK_SALT = "elections.vote-link"
WRITE_IN = "write-in"
MAX_WRITE_IN = 120

_STANDING_MESSAGES = {
    access.VOTER_NOT_A_MEMBER: "Only members whose membership was active on {cutoff} may vote "
    "in this election.",
    access.VOTER_NON_VOTING_PLAN: "Your membership plan does not carry a vote in association "
    "elections.",
    access.VOTER_NOT_DESIGNATED: "In this election each practice votes once, through its "
    "designated voter.",
}


def roll_freeze(election: Election) -> int:
    """Write the voter roll from membership.access at the cut-off, once; returns its size.

    Runs from the beat task as soon as the cut-off has passed (and again, doing nothing, ever
    after). Voting never opens on an unfrozen roll: ballot_cast freezes it first."""
    with transaction.atomic():
        election = Election.objects.select_for_update().get(pk=election.pk)
        if election.roll_frozen_at is not None:
            return election.electors.count()
        now = timezone.now()
        if now < election.eligibility_cutoff:
            return 0
        voters = access.voting_members(election.eligibility_cutoff, election.practice_rule)
        Elector.objects.bulk_create(
            [Elector(election=election, user_id=pk) for pk in voters.values_list("pk", flat=True)],
            ignore_conflicts=True,
        )
        election.roll_frozen_at = now
        election.save(update_fields=["roll_frozen_at"])
        return election.electors.count()


def voter_check(election: Election, user: User) -> None:
    """Refuse (403) anyone who may not vote in `election`, with the reason."""
    if election.roll_frozen_at is None:
        if timezone.now() < election.eligibility_cutoff:
            raise Refusal("Voting in this election has not opened yet.", 409)
        roll_freeze(election)
    if Elector.objects.filter(election=election, user_id=user.pk).exists():
        return
    standing = access.voter_standing(user, election.eligibility_cutoff, election.practice_rule)
    message = _STANDING_MESSAGES.get(standing, _STANDING_MESSAGES[access.VOTER_NOT_A_MEMBER])
    cutoff = timezone.localtime(election.eligibility_cutoff)
    raise Refusal(message.format(cutoff=f"{cutoff:%b} {cutoff.day}, {cutoff.year}"), 403)


def _check_open(election: Election) -> None:
    phase = election.phase()
    if phase in {Election.Phase.COUNTING, Election.Phase.CLOSED}:
        raise Refusal("Voting in this election has closed. Your ballot was not recorded.", 409)
    if phase != Election.Phase.VOTING:
        raise Refusal("Voting in this election has not opened yet.", 409)


def link_for(election: Election, user: User) -> str:
    """The signed part of a voter's personal link in the opening mail."""
    return signing.dumps({"e": election.pk, "u": user.pk}, salt=LINK_SALT, compress=True)


def user_from_link(election: Election, token: str) -> User:
    """The voter a signed link belongs to; a link for another election, edited or made up is
    refused (400)."""
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        raise Refusal(
            "This voting link is not valid. Use the link in your mail, or log in "
            "and vote from the election page.",
            400,
        ) from None
    if not isinstance(data, dict) or data.get("e") != election.pk:
        raise Refusal("This voting link is for another election.", 400)
    user_id = data.get("u")
    if not isinstance(user_id, int):
        raise Refusal("This voting link is not valid.", 400)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise Refusal("This voting link is no longer valid.", 400)
    return user


def ballot_options(election: Election) -> list[tuple[Office, list[Nomination]]]:
    """Each office with the candidates on its ballot."""
    approved = list(
        Nomination.objects.filter(office__election=election, status=Nomination.Status.APPROVED)
    )
    return [
        (office, [n for n in approved if n.office_id == office.pk])
        for office in election.offices.all()
    ]


def _write_in_key(text: str) -> str:
    return "w:" + " ".join(text.split())[:MAX_WRITE_IN]


def ballot_parse(election: Election, data: MultiValueDict[str, str]) -> dict[str, list[str]]:
    """Turn a submitted ballot form into the choices a Ballot stores, or refuse it whole.

    Fields: plurality offices send `office-<id>` once per marked candidate key; ranked
    offices send `office-<id>-rank-<n>` (n from 1) with a candidate key; either may send
    `office-<id>-write-in` text, which counts when marked (plurality: text alone marks it;
    ranked: a rank set to "write-in"). Leaving an office blank abstains there."""
    choices: dict[str, list[str]] = {}
    known_fields = set()
    for office, candidates in ballot_options(election):
        keys = {n.key for n in candidates}
        prefix = f"office-{office.pk}"
        write_in_text = " ".join(str(data.get(f"{prefix}-write-in", "")).split())
        known_fields.add(f"{prefix}-write-in")
        if write_in_text and not office.allow_write_ins:
            raise Refusal(f"{office.title} takes no write-in candidates.", 400)
        if len(write_in_text) > MAX_WRITE_IN:
            raise Refusal("A write-in name is too long.", 400)
        if office.method == Office.Method.PLURALITY:
            known_fields.add(prefix)
            marked = [str(v) for v in data.getlist(prefix)]
            if any(key not in keys for key in marked):
                raise Refusal(
                    f"The ballot for {office.title} names someone who is not a candidate.", 400
                )
            if len(set(marked)) != len(marked):
                raise Refusal(f"The ballot for {office.title} marks a candidate twice.", 400)
            if write_in_text:
                marked.append(_write_in_key(write_in_text))
            if len(marked) > office.seats:
                raise Refusal(f"Mark at most {office.seats} for {office.title}.", 400)
        else:
            places = len(candidates) + (1 if office.allow_write_ins else 0)
            known_fields.update(f"{prefix}-rank-{n}" for n in range(1, places + 1))
            marked = []
            for n in range(1, places + 1):
                value = str(data.get(f"{prefix}-rank-{n}", ""))
                if not value:
                    continue
                if value == WRITE_IN and office.allow_write_ins and write_in_text:
                    value = _write_in_key(write_in_text)
                elif value not in keys:
                    raise Refusal(
                        f"The ballot for {office.title} ranks someone who is not a candidate.", 400
                    )
                if value in marked:
                    raise Refusal(f"The ballot for {office.title} ranks a candidate twice.", 400)
                marked.append(value)
        if marked:
            choices[str(office.pk)] = marked
    unknown = [k for k in data if k.startswith("office-") and k not in known_fields]
    if unknown:
        raise Refusal(
            "The ballot holds choices this election does not have (too many "
            "choices, or an office that is not on it).",
            400,
        )
    return choices


def ballot_cast(*, election: Election, user: User, data: MultiValueDict[str, str]) -> str:
    """Record `user`'s ballot and return its receipt code, or refuse: not on the roll (403),
    voting not open or already voted (409), a bad form (400). See the module docstring."""
    choices = ballot_parse(election, data)
    voter_check(election, user)
    with transaction.atomic():
        election = Election.objects.select_for_update(no_key=True).get(pk=election.pk)
        _check_open(election)
        try:
            with transaction.atomic():
                Participation.objects.create(election=election, user=user)
        except IntegrityError:
            raise Refusal(_already_voted(election), 409) from None
        ballot = Ballot.objects.create(election=election, choices=choices)
        return ballot.receipt_code


def _already_voted(election: Election) -> str:
    if election.allow_vote_change:
        return (
            "You have voted in this election already. To change your vote, use the "
            "change form with your receipt code."
        )
    return "You have voted in this election already; a ballot cannot be cast twice."


def ballot_change(
    *, election: Election, user: User, receipt_code: str, data: MultiValueDict[str, str]
) -> str:
    """Replace the choices on the ballot with `receipt_code`, when the election allows a
    change and `user` has voted. The receipt code, which only the voter was shown, is what
    finds the ballot: nothing stored links the two. Returns the receipt code."""
    choices = ballot_parse(election, data)
    if not election.allow_vote_change:
        raise Refusal("Votes in this election cannot be changed.", 409)
    with transaction.atomic():
        election = Election.objects.select_for_update(no_key=True).get(pk=election.pk)
        _check_open(election)
        participation = (
            Participation.objects.select_for_update().filter(election=election, user=user).first()
        )
        if participation is None:
            raise Refusal("You have not voted in this election yet.", 409)
        ballot = Ballot.objects.filter(
            election=election, receipt_code=receipt_code.strip().upper()
        ).first()
        if ballot is None:
            raise Refusal("That receipt code does not match a ballot in this election.", 400)
        ballot.choices = choices
        ballot.save(update_fields=["choices"])
        participation.changes += 1
        participation.save(update_fields=["changes"])
        return ballot.receipt_code
