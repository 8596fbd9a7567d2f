"""Overbooking benchmark: hundreds of buyers at once for the last seats of one break-out.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_overbooking \\
        .venv/bin/python -m bench.overbooking [--attempts 500] [--seats 100] \\
        [--processes 2] [--threads 4]

It builds a throwaway database (DATABASE_URL's name prefixed test_), migrates it, and makes a
conference whose break-out has `--seats` seats. Then `--processes` worker processes (like
gunicorn workers) with `--threads` threads each, every thread on its own PostgreSQL connection,
wait at a starting line; all `--attempts` checkouts (services.order_create, which takes the
seat lock) are released at the same instant, as if that many buyers clicked together, and the
workers answer them as a web tier would: processes x threads at a time, the rest waiting for a
free worker. After the race every successful one is paid (services.order_mark_paid), as its
webhook would.

It prints attempts, seats sold, oversold (must be 0) and two latencies: per checkout in the
server (from the moment a worker starts it until the answer, confirmed or "sold out"), and
from the click to the answer (including the wait for a free worker), which is what a buyer
sees. The default shape, 2 processes x 4 threads, is a web tier sized for this 2-core machine;
`--processes 16 --threads 5` (80 in flight) shows what an oversubscribed one does.

Before the race the same pool answers as many trivial requests (one read in a transaction),
released the same way: the ratio of the two p95s survives the noise of a shared machine. The
last line says where the time goes: the holds pass the seat lock one at a time, each for a
count and a commit (whose WAL flush is the floor), then the crowd behind is told "sold out".
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=500)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        print("bench/overbooking needs PostgreSQL: set DATABASE_URL=postgres://...")
        return 2
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        return run(args)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connections

    from conferences import services
    from conferences.models import BreakoutChoice, Order
    from tests.factories import ConferencePageFactory, SessionFactory, TicketTypeFactory

    conference = ConferencePageFactory(capacity=args.attempts * 2)
    ticket = TicketTypeFactory(conference=conference)
    breakout = SessionFactory(conference=conference, capacity=args.seats)
    User = get_user_model()
    User.objects.bulk_create(
        User(username=f"buyer{n}", email=f"buyer{n}@bench.example") for n in range(args.attempts)
    )
    user_ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
    # Children must open connections of their own, never share the parent's socket.
    connections.close_all()
    # The baseline first: the same number of trivial requests through the same pool, released
    # at once the same way, so the machine's load of the moment is measured alongside.
    base_waits, _, _, _ = _race(args, user_ids, conference, ticket, breakout, "baseline")
    waits_all, outcomes, busy, python_cpu = _race(
        args, user_ids, conference, ticket, breakout, "checkout"
    )
    last_answer = max(waits_all)
    # Payment arrives later through the webhook; it is not part of the checkout's latency.
    for *_, order_id in outcomes:
        if order_id:
            services.order_mark_paid(order_id=order_id, payment_intent_id=f"pi_{order_id}")

    sold = BreakoutChoice.objects.filter(
        session=breakout, attendee__order__status=Order.Status.PAID
    ).count()
    latencies = sorted(duration for _, duration, _, _ in outcomes)
    p95 = _percentile(latencies, 95)
    # What a buyer waits in all: from the click (the release) until the answer, including the
    # time their request waited for a free worker.
    waits = sorted(waits_all)
    base_waits = sorted(base_waits)
    pairs = zip(waits_all, outcomes, strict=True)
    confirmed_waits = [w for w, (o, *_) in pairs if o == "confirmed"]
    refused = [d for o, d, *_ in outcomes if o == "sold out"]
    kinds = sorted({o for o, *_ in outcomes})
    counts = {k: sum(1 for o, *_ in outcomes if o == k) for k in kinds}
    in_flight = args.processes * args.threads
    shape = f"{args.processes} processes x {args.threads} threads = {in_flight} in flight"
    print(f"attempts:        {len(outcomes)}  ({shape})")
    print(f"seats:           {args.seats}")
    print(f"seats sold:      {sold}")
    print(f"oversold:        {max(0, sold - args.seats)}")
    print(f"outcomes:        {counts}")
    print(f"p50 latency:     {statistics.median(latencies) * 1000:.0f} ms")
    print(f"p95 latency:     {p95 * 1000:.0f} ms  (target < 500 ms; in the server)")
    print(f"max latency:     {latencies[-1] * 1000:.0f} ms")
    print(
        f"click to answer: p50 {statistics.median(waits) * 1000:.0f} ms, "
        f"p95 {_percentile(waits, 95) * 1000:.0f} ms (including the wait for a free worker)"
    )
    print(f"all answered in: {last_answer:.2f} s after the release")
    base_p95 = _percentile(base_waits, 95)
    print(
        f"baseline:        click to answer p95 {base_p95 * 1000:.0f} ms for {len(base_waits)} "
        "trivial requests (one read in a transaction) through the same pool, same run"
    )
    print(f"ratio:           rush p95 / baseline p95 = {_percentile(waits, 95) / base_p95:.1f}")
    print(
        f"where it goes:   last seat confirmed {max(confirmed_waits) * 1000:.0f} ms after the "
        f"release (the {len(confirmed_waits)} holds queue on the seat lock one by one: "
        f"{max(confirmed_waits) * 1000 / max(1, len(confirmed_waits)):.1f} ms per seat); "
        f"sold-out answers p95 {_percentile(sorted(refused), 95) * 1000:.1f} ms in the server"
    )
    print(
        f"CPU during race: {busy:.2f} s busy on the machine, of which the checkout processes "
        f"{python_cpu:.2f} s (the rest is mostly PostgreSQL)"
    )
    ok = sold == args.seats and counts.get("error", 0) == 0
    return 0 if ok else 1


def _race(args, user_ids, conference, ticket, breakout, kind):
    """Release len(user_ids) requests of `kind` at once into processes x threads; returns each
    one's click-to-answer time, the outcomes, the machine's busy CPU seconds and the workers'."""
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    results = ctx.Queue()
    ready = ctx.Barrier(args.processes + 1)
    shares = [user_ids[i :: args.processes] for i in range(args.processes)]
    workers = [
        ctx.Process(
            target=_worker,
            args=(
                share,
                conference.pk,
                ticket.pk,
                breakout.pk,
                args.threads,
                ready,
                start,
                results,
                kind,
            ),
        )
        for share in shares
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for worker in workers:
        worker.start()
    ready.wait()
    busy_before = _machine_busy_seconds()
    released_at = time.time()
    start.set()
    outcomes = []
    for _ in workers:
        outcomes.extend(results.get(timeout=600))
    busy = _machine_busy_seconds() - busy_before
    for worker in workers:
        worker.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    python_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    waits = [done - released_at for _, _, done, _ in outcomes]
    return waits, outcomes, busy, python_cpu


def _percentile(ordered: list[float], percent: int) -> float:
    return ordered[max(0, int(len(ordered) * percent / 100) - 1)]


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle since boot (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def _worker(user_ids, conference_id, ticket_id, session_id, threads, ready, start, results, kind):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from conferences import services
    from conferences.models import ConferencePage
    from conferences.services import AttendeeSpec

    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids)}
    connection.close()

    def baseline(user_id):
        # The trivial request: a transaction with one indexed read of the same conference.
        began = time.perf_counter()
        with transaction.atomic():
            ConferencePage.objects.filter(pk=conference_id).exists()
        return "baseline", time.perf_counter() - began, time.time(), None

    def attempt(user_id):
        began = time.perf_counter()
        outcome = "error"
        try:
            while True:
                try:
                    order = services.order_create(
                        conference_id=conference_id,
                        owner=users[user_id],
                        attendees=[
                            AttendeeSpec(
                                first_name=f"Buyer{user_id}",
                                last_name="Bench",
                                email=f"buyer{user_id}@bench.example",
                                ticket_type_id=ticket_id,
                                session_ids=[session_id],
                            )
                        ],
                    )
                except services.RegistrationBusy:
                    continue  # the buyer clicks again; the clock keeps running
                except services.SoldOut:
                    outcome = "sold out"
                else:
                    outcome = "confirmed"
                break
        except Exception as error:
            outcome = "error"
            print(f"error: {error!r}", file=sys.stderr)
        duration = time.perf_counter() - began
        return outcome, duration, time.time(), order.pk if outcome == "confirmed" else None

    with ThreadPoolExecutor(max_workers=threads) as pool:
        # Open every connection before the start, as a warm server would have them.
        list(pool.map(lambda _: connection.ensure_connection(), range(threads)))
        ready.wait()
        start.wait()
        outcome = list(pool.map(attempt if kind == "checkout" else baseline, user_ids))
        list(pool.map(lambda _: connection.close(), range(threads)))
    results.put(outcome)


if __name__ == "__main__":
    sys.exit(main())
