"""Member import benchmark: a 10,000-row CSV imported through membership.services.importing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m bench.member_import [--rows 10000] [--practices 500]

It builds a throwaway PostgreSQL database (DATABASE_URL's name prefixed test_), writes a CSV
like a Wild Apricot export (individual members, practices with their seats, some lapsed, some
rows with errors), and imports it three times: a dry run, the real run, and the same file
again (which must change nothing). Each prints rows, seconds and rows/s.

Target: the real run of 10,000 rows in under 60 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time

from bench._harness import run_on_scratch_database

SEATS_PER_PRACTICE = 4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--practices", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    return run_on_scratch_database("member_import", run, args)


def write_csv(path: str, rows: int, practices: int) -> None:
    headings = [
        "User ID", "First name", "Last name", "Organization", "e-Mail", "Membership level",
        "Membership status", "Member since", "Renewal due", "Member bundle ID or email",
    ]  # fmt: skip
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(headings)
        n = 0
        for p in range(practices):
            admin = f"admin{p}@practice{p}.example"
            writer.writerow(
                [n, "Pat", f"Admin{p}", f"Practice {p}", admin, "Practice", "Active",
                 "1/15/2020", "1/14/2027", ""]
            )  # fmt: skip
            n += 1
            for s in range(SEATS_PER_PRACTICE - 1):
                writer.writerow(
                    [n, "Sam", f"Seat{p}-{s}", f"Practice {p}", f"seat{s}@practice{p}.example",
                     "", "", "", "", admin]
                )  # fmt: skip
                n += 1
        while n < rows:
            status, due = ("Lapsed", "3/1/2025") if n % 10 == 0 else ("Active", "3/1/2027")
            plan = "Platinum" if n % 97 == 0 else "Individual"  # an unknown plan: skipped
            writer.writerow(
                [n, "Alex", f"Member{n}", "", f"Member{n}@Example.org", plan, status,
                 "3/1/2018", due, ""]
            )  # fmt: skip
            n += 1


def run(args, settings, connection) -> int:
    from membership.services import importing
    from tests.factories import PlanFactory, PracticePlanFactory

    PlanFactory()
    PracticePlanFactory(seats=SEATS_PER_PRACTICE)
    handle, path = tempfile.mkstemp(prefix="bench-import-", suffix=".csv")
    os.close(handle)
    try:
        write_csv(path, args.rows, args.practices)
        size = os.path.getsize(path)
        print(f"{args.rows} rows, {size / 1_048_576:.1f} MB, on {connection.vendor}")
        ok = True
        for label, dry_run in (("dry run", True), ("import", False), ("second run", False)):
            with open(path, "rb") as stream:
                started = time.perf_counter()
                report = importing.import_members(stream, dry_run=dry_run, label="bench")
                seconds = time.perf_counter() - started
            c = report.counts
            print(
                f"{label:>10}: {len(report.rows)} rows in {seconds:.1f} s "
                f"({len(report.rows) / seconds:,.0f} rows/s): {c['created']} created, "
                f"{c['updated']} updated, {c['unchanged']} unchanged, {c['skipped']} skipped"
            )
            if label == "import":
                ok = ok and seconds < 60
            if label == "second run":
                ok = ok and c["created"] == c["updated"] == 0
        print("target (import under 60 s, second run unchanged):", "met" if ok else "MISSED")
        return 0 if ok else 1
    finally:
        os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
