"""Fan-out benchmark: one list message to 10,000 subscribers, delivered over SMTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_bench \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python -m bench.fanout [--subscribers 10000] [--workers 2] [--concurrency 4]

It builds a throwaway PostgreSQL database (DATABASE_URL's name prefixed test_), makes a list
with `--subscribers` active members in every-message mode, starts `--workers` real Celery
worker processes on Redis and a counting SMTP sink (aiosmtpd on 127.0.0.1), posts one
message the way the web form does, and times until the sink has every copy. It then checks the
ledger and the sink: every row sent, every subscriber exactly one copy. Target: under 20 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from collections import Counter

from bench._harness import run_on_scratch_database, start_thread_workers


class CountingSink:
    """An SMTP server that only counts recipients, so the sink is not what we measure."""

    def __init__(self):
        self.copies: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        with self.lock:
            self.copies.update(envelope.rcpt_tos)
        return "250 OK"

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.copies.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="batches each worker sends at once (threads)"
    )
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    return run_on_scratch_database("fanout", run, args)


def run(args, settings, connection) -> int:
    from aiosmtpd.controller import Controller
    from django.contrib.auth import get_user_model

    from discussions import services
    from discussions.models import Delivery, MailingList, Subscription
    from tests.conftest import free_port
    from tests.discussions import worker_process
    from tests.factories import MembershipFactory, PlanFactory

    User = get_user_model()
    users = User.objects.bulk_create(
        [
            User(username=f"bench{i}", email=f"bench{i}@example.org")
            for i in range(args.subscribers)
        ],
        batch_size=2000,
    )
    # Active memberships exactly as tests/factories.py makes them, in bulk.
    plan = PlanFactory()
    memberships = [MembershipFactory.build(user=u, plan=plan) for u in users]
    type(memberships[0]).objects.bulk_create(memberships, batch_size=2000)
    mailing_list = MailingList.objects.create(
        name="General network", slug="network", moderate_first_posts=False
    )
    Subscription.objects.bulk_create(
        [Subscription(user=u, mailing_list=mailing_list, mode="every") for u in users],
        batch_size=2000,
    )

    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.DISCUSSIONS_BATCH_SIZE = args.batch
    overrides = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "DISCUSSIONS_BATCH_SIZE": args.batch,
        "CELERY_BROKER_TRANSPORT_OPTIONS": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    }
    env = worker_process.environment(
        database_url=worker_process.database_url(connection), overrides=overrides
    )
    workers = start_thread_workers(env, count=args.workers, threads=args.concurrency, name="bench")
    try:
        print(
            f"{args.subscribers:,} subscribers, {args.workers} worker processes x "
            f"{args.concurrency} threads, batches of {args.batch}, sink on 127.0.0.1:{port}"
        )
        started = time.perf_counter()
        own_cpu = time.process_time()
        services.message_post_web(
            user=users[0],
            mailing_list=mailing_list,
            subject="How do you handle prior authorizations for biologics?",
            text="We are at three weeks per approval. What works for you?\n",
        )
        last = 0
        while sink.total < args.subscribers:
            time.sleep(0.05)
            elapsed = time.perf_counter() - started
            if elapsed > 300:
                print(f"gave up after {elapsed:.0f} s with {sink.total:,} delivered")
                return 1
            if int(elapsed) > last:
                last = int(elapsed)
                print(f"  {elapsed:5.1f} s  {sink.total:>6,} delivered", flush=True)
        total = time.perf_counter() - started
        own_cpu = time.process_time() - own_cpu
        time.sleep(1)  # a duplicate would arrive now
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        controller.stop()

    # CPU the workers and this process (the sink, mostly) used: unlike wall time, it does not
    # depend on what else the machine is running. Worker start-up is included.
    workers_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = workers_cpu.ru_utime + workers_cpu.ru_stime
    load = os.getloadavg()[0]
    sent = Delivery.objects.filter(status=Delivery.Status.SENT).count()
    duplicates = sum(1 for n in sink.copies.values() if n > 1)
    print(f"delivered:        {sink.total:,} copies to {len(sink.copies):,} recipients")
    print(f"ledger rows sent: {sent:,}")
    print(f"duplicates:       {duplicates}")
    print(f"total time:       {total:.2f} s")
    print(f"messages/second:  {args.subscribers / total:,.0f}")
    print(f"CPU, workers:     {workers_cpu:.1f} s (start-up included)")
    print(f"CPU, SMTP sink:   {own_cpu:.1f} s")
    print(f"load average:     {load:.1f} on {os.cpu_count()} cores")
    print(f"target < 20 s:    {'met' if total < 20 and not duplicates else 'MISSED'}")
    return 0 if sent == args.subscribers and not duplicates else 1


if __name__ == "__main__":
    sys.exit(main())
