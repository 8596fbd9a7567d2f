"""Webhook benchmark: Stripe events accepted and applied per second, and how fast a
checkout.session.completed makes a membership active.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_bench \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python -m bench.webhooks [--joins 300] [--latency-joins 200] [--join-rate 5]
            [--web 3] [--web-threads 4] [--workers 2] [--threads 8] [--senders 24]
            [--mail-workers 1] [--mail-nice 10]

Everything is real: a throwaway PostgreSQL database (DATABASE_URL's name prefixed test_),
gunicorn serving the portal, real Celery worker processes on Redis, and the Stripe stand-in,
which the workers' stripe library calls to re-read every object.

1. Throughput. `--joins` people join by Checkout on the stand-in, which records every event a
   real subscription checkout produces (customers, payment methods, subscriptions, invoices,
   payment intents, charges, the session). All of them are then POSTed, signed, by `--senders`
   concurrent clients while no worker runs. Reported: events/s accepted (2xx from
   /stripe/webhook/). Then the workers start and drain the backlog: events/s applied (the
   types we handle; the others are stored as done when they arrive).
2. Latency. `--latency-joins` more people pay; their checkout.session.completed events arrive at
   `--join-rate` per second, each with the unrelated events of its checkout as background load,
   but without the invoice and subscription events, so only the checkout.session.completed can
   activate the membership. Reported: p50/p95/max from the event's arrival (its row's
   received_at) to the membership's change to active (its StateChange row).

The `--workers` consume the default queue; the receipts and welcome notices the applies queue
go to the mail queue, drained by `--mail-workers` worker processes of their own (README: mail on
its own workers), started niced by `--mail-nice` since on one small machine they share the CPU
that other machines would give them. A receipt renders two PDFs (~150 ms) where applying an
event costs ~10 ms, so mail drained by the same workers used to set the applied rate. The time
until every receipt and notice was mailed is printed too. `--mail-workers 0` is the old layout
(the workers consume both queues).

Targets: 200 events/s accepted and applied or more; p95 under 1 s. The ratio applied/accepted
is printed as measured in the same run, so the noise of a shared machine cancels out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench._harness import run_on_scratch_database, start_thread_workers

WEBHOOK_SECRET = "whsec_bench"  # noqa: S105 - the bench signs its own events
LATENCY_SKIP = ("invoice.", "customer.subscription.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=300)
    parser.add_argument("--latency-joins", type=int, default=200)
    parser.add_argument("--join-rate", type=float, default=5.0)
    parser.add_argument("--web", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per Celery worker")
    parser.add_argument("--senders", type=int, default=24, help="concurrent webhook senders")
    parser.add_argument("--mail-workers", type=int, default=1, help="mail queue worker processes")
    parser.add_argument("--mail-nice", type=int, default=10, help="the mail workers' nice level")
    args = parser.parse_args()

    return run_on_scratch_database("webhooks", run, args)


def run(args, settings, connection) -> int:
    import logging

    from devtools.stripe_standin import StandinServer
    from tests.conftest import free_port
    from tests.discussions import worker_process

    logging.getLogger("stripe").setLevel(logging.WARNING)
    handle, data_path = tempfile.mkstemp(prefix="bench-standin-", suffix=".sqlite3")
    os.close(handle)
    # The checkouts are made with a stand-in in this process (webhooks held back), which keeps
    # its state in a file; the workers then read from a stand-in process of its own on that
    # file, so this process's senders do not slow Stripe's side down.
    standin = StandinServer(
        port=0, webhook_url=None, webhook_secret=WEBHOOK_SECRET, data=data_path
    ).start()
    settings.STRIPE_SECRET_KEY = "sk_test_standin"  # noqa: S105 - the stand-in's test key
    settings.STRIPE_API_BASE = standin.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    print(f"preparing {args.joins} + {args.latency_joins} checkouts on the stand-in ...")
    throughput_joins = prepare_joins(args.joins, standin, prefix="t")
    throughput_events = events_since(standin, set())
    seen = {e["id"] for e in throughput_events}
    latency_joins = prepare_joins(args.latency_joins, standin, prefix="l")
    latency_events = events_since(standin, seen)
    standin.stop()

    standin_port = free_port()
    standin_url = f"http://127.0.0.1:{standin_port}"
    standin_proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.stripe_standin",
            "--port",
            str(standin_port),
            "--data",
            data_path,
            "--quiet",
        ],
        cwd=settings.BASE_DIR,
        stderr=subprocess.DEVNULL,
    )
    port = free_port()
    overrides = {
        "CELERY_BROKER_TRANSPORT_OPTIONS": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "STRIPE_SECRET_KEY": "sk_test_standin",
        "STRIPE_API_BASE": standin_url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    env = worker_process.environment(
        database_url=worker_process.database_url(connection), overrides=overrides
    )
    connection.close()  # the children open their own
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.webhooks.wsgi",
            "--workers",
            str(args.web),
            "--threads",
            str(args.web_threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    workers: list[subprocess.Popen] = []

    def start_workers() -> None:
        workers.extend(
            start_thread_workers(
                env,
                count=args.workers,
                threads=args.threads,
                name="wh",
                queues="default" if args.mail_workers else "",
            )
        )
        if args.mail_workers:
            workers.extend(
                start_thread_workers(
                    env,
                    count=args.mail_workers,
                    threads=args.threads,
                    name="mail",
                    queues="mail",
                    nice=args.mail_nice,
                    running=args.workers,
                )
            )

    url = f"http://127.0.0.1:{port}/stripe/webhook/"
    try:
        wait_for_web(url)
        print(
            f"gunicorn x{args.web} x{args.web_threads} threads, "
            f"{args.workers} Celery workers x{args.threads} threads, "
            f"{args.mail_workers} mail workers (nice {args.mail_nice}), "
            f"{args.senders} senders, stand-in process at {standin_url}"
        )
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
        throughput(url, throughput_events, args.senders, start_workers)
        latency(url, latency_joins, latency_events, args.join_rate, args.senders)
        ok = check(throughput_joins + latency_joins)
        print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on the machine skews)")
    finally:
        for proc in [web, *workers, standin_proc]:
            proc.terminate()
        for proc in [web, *workers, standin_proc]:
            proc.wait(timeout=30)
        os.unlink(data_path)
    return 0 if ok else 1


def prepare_joins(count: int, standin, *, prefix: str) -> list[int]:
    """Users with pending memberships who paid by Checkout on the stand-in (webhooks held)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from membership import services
    from tests.factories import PlanFactory

    plan = services.plan_sync_stripe(plan=PlanFactory())
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"{prefix}{i}", email=f"{prefix}{i}@example.org") for i in range(count)]
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
    )
    ids = []
    for user in users:
        membership = services.membership_prepare(user=user, plan=plan)
        session = services.membership_checkout(
            membership=membership,
            success_url="http://127.0.0.1/ok?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="http://127.0.0.1/cancel",
        )
        standin.pay(session.id)
        ids.append(membership.pk)
    return ids


def events_since(standin, seen: set[str]) -> list[dict]:
    out = []
    for event in standin.events():
        if event["id"] not in seen:
            event = dict(event)
            event.pop("deliveries", None)
            out.append(event)
    return out


def post(url: str, event: dict) -> tuple[float, int]:
    from devtools.stripe_standin import sign

    payload = json.dumps(event)
    request = urllib.request.Request(  # noqa: S310 - the bench's own loopback server
        url,
        data=payload.encode(),
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload, WEBHOOK_SECRET),
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return time.perf_counter() - started, status


def wait_for_web(url: str) -> None:
    deadline = time.monotonic() + 120
    health = url.replace("/stripe/webhook/", "/healthz")
    while True:
        try:
            urllib.request.urlopen(health, timeout=2)  # noqa: S310 - the bench's own server
            break
        except urllib.error.HTTPError:
            break  # 503: up, but a check failed; the webhook may still work
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


def wait_applied(total: int, timeout: float = 600) -> None:
    from payments.models import StripeEvent

    deadline = time.monotonic() + timeout
    while StripeEvent.objects.filter(processed_at__isnull=False).count() < total:
        if time.monotonic() > deadline:
            raise SystemExit("events were not all applied in time")
        time.sleep(0.2)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def throughput(url: str, events: list[dict], senders: int, start_workers) -> None:
    """Accepting first, with no worker running, so each stage is measured on its own; then
    the workers start and drain the backlog."""
    from payments import services
    from payments.models import StripeEvent

    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        results = list(pool.map(lambda e: post(url, e), events))
    accept_seconds = time.perf_counter() - started
    bad = [status for _, status in results if status != 200]
    handled = sum(1 for e in events if e["type"] in services.HANDLED_EVENTS)
    start_workers()
    started = time.perf_counter()
    wait_applied(len(events))
    apply_seconds = time.perf_counter() - started
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    replies = [seconds for seconds, _ in results]
    rate = len(events) / accept_seconds
    applied = handled / apply_seconds
    covered = StripeEvent.objects.exclude(covered_by="").count()
    print("\n1. Throughput: every event of the checkouts, all at once")
    print(f"   events:             {len(events):,} ({len(bad)} not 200), {handled:,} to apply")
    print(f"   accepted:           {rate:,.0f} events/s (no worker running)")
    print(
        f"   reply time:         p50 {pct(replies, 50) * 1000:.0f} ms, "
        f"p95 {pct(replies, 95) * 1000:.0f} ms"
    )
    print(f"   applied:            {applied:,.0f} events/s (workers draining)")
    print(f"   applied/accepted:   {applied / rate:.2f} (both measured in this run)")
    print(f"   covered by a read:  {covered:,} events needed no read of their own")
    print(
        f"   target >= 200/s:    accepted {'met' if rate >= 200 and not bad else 'MISSED'}, ",
        end="",
    )
    print(f"applied {'met' if applied >= 200 else 'MISSED'}")
    left = wait_mailed()
    print(
        f"   all mail sent:      {time.perf_counter() - started:.1f} s after the workers started, "
        f"{left} receipts/notices not sent yet"
    )


def wait_mailed(timeout: float = 300) -> int:
    """Wait until every receipt and notice queued so far was mailed (or `timeout` passed);
    returns how many were not."""
    from membership.models import Notice
    from payments.models import Receipt

    def left() -> int:
        return (
            Receipt.objects.filter(mailed_at__isnull=True).count()
            + Notice.objects.filter(sent_at__isnull=True).count()
        )

    deadline = time.monotonic() + timeout
    while left() and time.monotonic() < deadline:
        time.sleep(0.2)
    return left()


def latency(url: str, joins: list[int], events: list[dict], rate: float, senders: int) -> None:
    from membership.models import StateChange
    from payments.models import StripeEvent

    by_session: dict[str, list[dict]] = {}
    order: list[str] = []
    current: list[dict] = []
    for event in events:
        if event["type"].startswith(LATENCY_SKIP):
            continue
        current.append(event)
        if event["type"] == "checkout.session.completed":
            session_id = event["data"]["object"]["id"]
            by_session[session_id] = current
            order.append(session_id)
            current = []
    before = StripeEvent.objects.count()
    interval = 1 / rate
    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        futures = []
        for n, session_id in enumerate(order):
            delay = started + n * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.extend(pool.submit(post, url, e) for e in by_session[session_id])
        bad = [f.result()[1] for f in futures if f.result()[1] != 200]
    wait_applied(before + sum(len(v) for v in by_session.values()))
    completed = dict(
        StripeEvent.objects.filter(
            type="checkout.session.completed", pk__in=_ids(by_session)
        ).values_list("payload__data__object__metadata__membership", "received_at")
    )
    activated = dict(
        StateChange.objects.filter(membership_id__in=joins, to_state="active").values_list(
            "membership_id", "at"
        )
    )
    waits = [
        (activated[int(pk)] - received).total_seconds()
        for pk, received in completed.items()
        if int(pk) in activated
    ]
    offered = sum(len(v) for v in by_session.values()) / max(len(order), 1) * rate
    print(f"\n2. Latency: checkout.session.completed at {rate:g}/s with background events")
    print(f"   offered load:       {offered:,.0f} events/s")
    print(f"   joins:              {len(order)} ({len(bad)} events not 200)")
    print(f"   activated:          {len(waits)} of {len(order)}")
    if waits:
        p95 = pct(waits, 95)
        print(
            f"   arrival -> active:  p50 {statistics.median(waits) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms"
        )
        print(
            f"   target p95 < 1 s:   {'met' if p95 < 1 and len(waits) == len(order) else 'MISSED'}"
        )


def _ids(by_session: dict[str, list[dict]]) -> list[str]:
    return [e["id"] for evs in by_session.values() for e in evs]


def check(membership_ids: list[int]) -> bool:
    from membership.models import Membership

    active = Membership.objects.filter(pk__in=membership_ids, state="active").count()
    print(f"\nmemberships active: {active} of {len(membership_ids)}")
    return active == len(membership_ids)


if __name__ == "__main__":
    sys.exit(main())
