"""Counting ballots: plurality, and ranked choice by the single transferable vote.

Pure Python with no Django, so `python -m elections.recount` can recompute results from a
published export on any machine, and the same code counts at the close.

Methods
-------
Plurality (N seats): each ballot marks up to N candidates; the N with the most marks win.

Ranked choice: the single transferable vote, which with one seat is instant runoff.
- Quota: Droop, floor(valid ballots / (seats + 1)) + 1, fixed after the first count. A ballot
  is valid for an office when it ranks at least one candidate there.
- Each round counts every ballot at its highest-ranked continuing candidate, at its current
  weight (all ballots start at 1). Arithmetic is exact (fractions), so no rounding rule exists.
- If any continuing candidate has a quota, the one with the most votes is elected, and their
  surplus moves on by the Gregory method: every ballot counting for them keeps going at
  weight x surplus / their total (the "weighted inclusive" Gregory transfer).
- Otherwise, if the continuing candidates are no more than the seats left, all are elected.
- Otherwise the candidate with the fewest votes is excluded, their ballots moving on at their
  current weights. A ballot with no continuing candidate left is exhausted.

Ties (published rule): a tie is broken by lot drawn from the election's seed, which is shown
on the election page before voting opens. Each tied candidate gets
sha256("<seed>:<office>:<round>:<candidate key>"); the highest hash wins the tie (is elected or
kept), the lowest loses. Anyone with the seed can repeat the draw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

PLURALITY = "plurality"
RANKED = "ranked"


def lot(seed: str, office: str, round_no: int, key: str) -> str:
    """The lot a candidate draws in a tie (see the module docstring)."""
    return hashlib.sha256(f"{seed}:{office}:{round_no}:{key}".encode()).hexdigest()


def _fmt(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


@dataclass
class Round:
    number: int
    votes: dict[str, Fraction]
    elected: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    exhausted: Fraction = Fraction(0)
    by_lot: bool = False

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "votes": {key: _fmt(v) for key, v in sorted(self.votes.items())},
            "elected": self.elected,
            "excluded": self.excluded,
            "exhausted": _fmt(self.exhausted),
            "by_lot": self.by_lot,
        }


@dataclass
class Outcome:
    method: str
    seats: int
    elected: list[str]
    rounds: list[Round]
    valid_ballots: int
    quota: int | None = None

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "seats": self.seats,
            "elected": self.elected,
            "valid_ballots": self.valid_ballots,
            "quota": self.quota,
            "rounds": [r.as_dict() for r in self.rounds],
        }


def _order(keys: Iterable[str], votes: dict[str, Fraction], draw) -> list[str]:
    """`keys` from most votes to fewest, ties in the order of their lots (highest first)."""
    return sorted(keys, key=lambda k: (votes[k], draw(k)), reverse=True)


def plurality(
    ballots: Iterable[Sequence[str]],
    *,
    seats: int,
    candidates: Iterable[str],
    seed: str,
    office: str,
) -> Outcome:
    """Count marks; the `seats` candidates with the most win, ties at the last seat by lot.
    Write-ins (keys not in `candidates`) are counted like any candidate."""
    votes: dict[str, Fraction] = {key: Fraction(0) for key in candidates}
    valid = 0
    for marks in ballots:
        if marks:
            valid += 1
        for key in set(marks):
            votes[key] = votes.get(key, Fraction(0)) + 1
    ranked = _order(votes, votes, lambda k: lot(seed, office, 1, k))
    elected = [k for k in ranked if votes[k] > 0][:seats]
    by_lot = len(ranked) > seats and elected and votes[ranked[seats]] == votes[elected[-1]] > 0
    rounds = [Round(1, dict(votes), elected=list(elected), by_lot=bool(by_lot))]
    return Outcome(PLURALITY, seats, elected, rounds, valid)


def stv(
    ballots: Iterable[Sequence[str]],
    *,
    seats: int,
    candidates: Iterable[str],
    seed: str,
    office: str,
) -> Outcome:
    """The single transferable vote as the module docstring describes (instant runoff when
    `seats` is 1). Ballots are candidate keys in rank order; keys may be write-ins."""
    papers: list[tuple[list[str], Fraction]] = []
    hopefuls: set[str] = set(candidates)
    for ranking in ballots:
        order = list(dict.fromkeys(ranking))  # a repeated key counts once, at its best rank
        if order:
            papers.append((order, Fraction(1)))
            hopefuls.update(order)
    valid = len(papers)
    quota = valid // (seats + 1) + 1
    elected: list[str] = []
    rounds: list[Round] = []
    continuing = set(hopefuls)
    weights = [w for _, w in papers]
    number = 0
    while len(elected) < seats and continuing:
        number += 1
        votes = {key: Fraction(0) for key in continuing}
        holder: list[str | None] = []
        exhausted = Fraction(0)
        for (order, _), weight in zip(papers, weights, strict=True):
            top = next((k for k in order if k in continuing), None)
            holder.append(top)
            if top is None:
                exhausted += weight
            else:
                votes[top] += weight
        this = Round(number, dict(votes), exhausted=exhausted)
        rounds.append(this)

        def draw(key, number=number):
            return lot(seed, office, number, key)

        reached = [k for k in continuing if votes[k] >= quota]
        if reached:
            ordered = _order(reached, votes, draw)
            winner = ordered[0]
            this.by_lot = len(ordered) > 1 and votes[ordered[1]] == votes[winner]
            this.elected.append(winner)
            elected.append(winner)
            continuing.discard(winner)
            surplus = votes[winner] - quota
            if surplus and votes[winner]:
                factor = surplus / votes[winner]
                weights = [
                    w * factor if h == winner else w for w, h in zip(weights, holder, strict=True)
                ]
            else:
                weights = [
                    Fraction(0) if h == winner else w for w, h in zip(weights, holder, strict=True)
                ]
            continue
        if len(continuing) <= seats - len(elected):
            rest = _order(continuing, votes, draw)
            this.elected.extend(rest)
            elected.extend(rest)
            continuing.clear()
            break
        ordered = _order(continuing, votes, draw)
        loser = ordered[-1]
        this.by_lot = votes[ordered[-2]] == votes[loser]
        this.excluded.append(loser)
        continuing.discard(loser)
    return Outcome(RANKED, seats, elected, rounds, valid, quota)


def count_office(
    method: str,
    ballots: Iterable[Sequence[str]],
    *,
    seats: int,
    candidates: Iterable[str],
    seed: str,
    office: str,
) -> Outcome:
    count = plurality if method == PLURALITY else stv
    return count(ballots, seats=seats, candidates=candidates, seed=seed, office=office)


def count_export(export: dict) -> dict[str, dict]:
    """Results for every office of a published export (see services.closing.export):
    {office id: Outcome.as_dict()}."""
    results = {}
    for office in export["offices"]:
        office_id = str(office["id"])
        marks = [b["choices"].get(office_id, []) for b in export["ballots"]]
        outcome = count_office(
            office["method"],
            marks,
            seats=office["seats"],
            candidates=[c["key"] for c in office["candidates"]],
            seed=export["tie_seed"],
            office=office_id,
        )
        results[office_id] = outcome.as_dict()
    return results
