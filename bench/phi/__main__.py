"""Privacy guard benchmark: recall and precision on the labelled posts in tests/.

    .venv/bin/python -m bench.phi [--verbose]

Reads tests/discussions/phi_corpus/{tuning,heldout}.txt (label | text per line), runs the
guard on each post and prints, per set and overall, how many posts with patient data were
held (recall) and how many holds were right (precision). --verbose lists the misses and the
false alarms. Targets: recall >= 0.95, precision >= 0.90. Needs no database or broker.
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list misses and false alarms")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()
    from bench.phi import SETS, Score, score

    results = [score(name) for name in SETS]
    overall = Score("all")
    for result in results:
        for attr in ("true_pos", "false_pos", "false_neg", "true_neg"):
            setattr(overall, attr, getattr(overall, attr) + getattr(result, attr))
    print(
        f"{'set':<8} {'posts':>5} {'PHI':>4} {'held':>4} {'missed':>6} {'false':>5} "
        f"{'recall':>6} {'precision':>9}"
    )
    for result in [*results, overall]:
        print(
            f"{result.name:<8} {result.total:>5} {result.true_pos + result.false_neg:>4} "
            f"{result.true_pos + result.false_pos:>4} {result.false_neg:>6} "
            f"{result.false_pos:>5} {result.recall:>6.3f} {result.precision:>9.3f}"
        )
    if args.verbose:
        for result in results:
            for text in result.missed:
                print(f"MISSED  [{result.name}] {text!r}")
            for text in result.false_alarms:
                print(f"FALSE   [{result.name}] {text!r}")
    ok = overall.recall >= 0.95 and overall.precision >= 0.90
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
