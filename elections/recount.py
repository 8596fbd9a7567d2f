"""Recompute an election's results from its published export, with no database.

    python -m elections.recount export.json

Prints each office's winners and rounds, then checks them against the results in the export
and exits 1 if they differ. The counting code is elections.tally, the one the portal uses.
"""

from __future__ import annotations

import json
import sys

from elections.tally import count_export


def _say(line: str, stream=None) -> None:
    (stream or sys.stdout).write(line + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        _say(__doc__.strip(), sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        export = json.load(handle)
    names = {c["key"]: c["name"] for o in export["offices"] for c in o["candidates"]}
    recounted = count_export(export)
    agree = True
    for office in export["offices"]:
        office_id = str(office["id"])
        outcome = recounted[office_id]
        winners = ", ".join(names.get(k, k.removeprefix("w:")) for k in outcome["elected"])
        _say(f"{office['title']} ({outcome['method']}, {outcome['seats']} seat(s)): {winners}")
        for r in outcome["rounds"]:
            tallies = ", ".join(f"{names.get(k, k)}={v}" for k, v in sorted(r["votes"].items()))
            _say(f"  round {r['number']}: {tallies}")
        published = (export.get("results") or {}).get(office_id)
        if published is not None and published["elected"] != outcome["elected"]:
            agree = False
            _say(f"  DIFFERS from the published result: {published['elected']}")
    _say(f"{len(export['ballots'])} ballots recounted.")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
