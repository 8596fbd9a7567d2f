"""The privacy guard's recall and precision on the labelled corpus in tests/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "discussions" / "phi_corpus"
SETS = ("tuning", "heldout")


def load(name: str) -> list[tuple[bool, str]]:
    """(holds patient data?, text) for each post of tests/discussions/phi_corpus/<name>.txt."""
    posts = []
    for number, line in enumerate((CORPUS / f"{name}.txt").read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition(" | ")
        if not sep or label not in {"PHI", "OK"}:
            raise ValueError(f"{name}.txt line {number}: expected 'PHI | ...' or 'OK | ...'")
        posts.append((label == "PHI", text.replace("\\n", "\n").replace("\\t", "\t")))
    return posts


@dataclass
class Score:
    name: str
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    true_neg: int = 0
    missed: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.true_pos / ((self.true_pos + self.false_neg) or 1)

    @property
    def precision(self) -> float:
        return self.true_pos / ((self.true_pos + self.false_pos) or 1)

    @property
    def total(self) -> int:
        return self.true_pos + self.false_pos + self.false_neg + self.true_neg


def score(name: str) -> Score:
    from discussions.phi import phi_scan

    result = Score(name)
    for is_phi, text in load(name):
        held = bool(phi_scan(text))
        if is_phi and held:
            result.true_pos += 1
        elif is_phi:
            result.false_neg += 1
            result.missed.append(text)
        elif held:
            result.false_pos += 1
            result.false_alarms.append(text)
        else:
            result.true_neg += 1
    return result
