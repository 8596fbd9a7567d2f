"""Fan-out benchmark: one list message to 10,000 subscribers, delivered over SMTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_bench \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python -m bench.fanout [--subscribers 10000] [--with-50k] [--workers 2]

It builds a throwaway PostgreSQL database (DATABASE_URL's name prefixed test_), makes a list
with `--subscribers` active members in every-message mode, starts `--workers` real Celery
worker processes on Redis and a counting SMTP sink (aiosmtpd on 127.0.0.1), posts one
message the way the web form does, and times until the sink has every copy. After each size it
sends the same bytes to the same sink over one reused raw SMTP connection and prints the ratio,
which the load of this shared machine mostly cancels out of. Sizes: 1,000 and 10,000 by default
(--with-50k adds 50,000), so time per copy can be compared. It then checks the ledger and the
sink: every row sent, every subscriber exactly one copy per list. Target: 10,000 in 10 s.
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
    parser.add_argument("--subscribers", type=int, default=10_000, help="the headline size")
    parser.add_argument(
        "--growth",
        default="1000,10000",
        help="list sizes to run one after another, for how time per copy grows",
    )
    parser.add_argument("--with-50k", action="store_true", help="add a 50,000-subscriber run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="batches each worker sends at once (threads)"
    )
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    sizes = sorted({args.subscribers, *(int(n) for n in args.growth.split(",") if n)})
    if args.with_50k:
        sizes.append(50_000)
    args.sizes = sorted(set(sizes))
    return run_on_scratch_database("fanout", run, args)


def raw_smtp_seconds(port: int, sink: CountingSink, data: bytes, copies: int) -> float:
    """The baseline: the same bytes into the same sink over one reused connection, one
    recipient per message, with nothing else (no ledger, no Celery, no rendering)."""
    import re
    import smtplib

    data = re.sub(rb"\r\n|\n|\r", b"\r\n", data)  # smtplib sends bytes as they are
    target = sink.total + copies
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(copies):
            smtp.sendmail("bench-bounces@example.org", [f"raw{i}@example.org"], data)
    while sink.total < target:
        time.sleep(0.001)
    return time.perf_counter() - started


def run(args, settings, connection) -> int:
    from aiosmtpd.controller import Controller
    from django.contrib.auth import get_user_model

    from discussions import services
    from discussions.models import Delivery, MailingList, Message, Subscription
    from tests.conftest import free_port
    from tests.discussions import worker_process
    from tests.factories import MembershipFactory, PlanFactory

    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"bench{i}", email=f"bench{i}@example.org") for i in range(max(args.sizes))],
        batch_size=2000,
    )
    # Active memberships exactly as tests/factories.py makes them, in bulk.
    plan = PlanFactory()
    memberships = [MembershipFactory.build(user=u, plan=plan) for u in users]
    type(memberships[0]).objects.bulk_create(memberships, batch_size=2000)
    lists = {}
    for size in args.sizes:
        mailing_list = MailingList.objects.create(
            name=f"General network {size}", slug=f"network-{size}", moderate_first_posts=False
        )
        Subscription.objects.bulk_create(
            [Subscription(user=u, mailing_list=mailing_list, mode="every") for u in users[:size]],
            batch_size=2000,
        )
        lists[size] = mailing_list

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
    results = {}
    try:
        print(
            f"sizes {', '.join(f'{n:,}' for n in args.sizes)}; {args.workers} worker processes "
            f"x {args.concurrency} threads, batches of {args.batch}, "
            f"{settings.DISCUSSIONS_SMTP_CONNECTIONS} connections per batch, sink on :{port}"
        )
        for size in args.sizes:
            mailing_list = lists[size]
            before = sink.total
            started = time.perf_counter()
            own_cpu = time.process_time()
            services.message_post_web(
                user=users[0],
                mailing_list=mailing_list,
                subject="How do you handle prior authorizations for biologics?",
                text="We are at three weeks per approval. What works for you?\n",
            )
            last = 0
            while sink.total - before < size:
                time.sleep(0.05)
                elapsed = time.perf_counter() - started
                if elapsed > 600:
                    print(f"gave up after {elapsed:.0f} s with {sink.total - before:,} delivered")
                    return 1
                if int(elapsed) > last:
                    last = int(elapsed)
                    print(
                        f"  {size:>6,}: {elapsed:5.1f} s  {sink.total - before:>6,} delivered",
                        flush=True,
                    )
            total = time.perf_counter() - started
            own_cpu = time.process_time() - own_cpu
            time.sleep(1)  # a duplicate would arrive now
            message = Message.objects.get(mailing_list=mailing_list)
            data = services.list_message_prepare(message).for_recipient(user_pk=users[0].pk)
            raw = raw_smtp_seconds(port, sink, data, size)
            results[size] = (total, raw, own_cpu, message.pk)
            print(f"  {size:>6,}: fan-out {total:.2f} s, raw SMTP {raw:.2f} s", flush=True)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        controller.stop()

    # CPU the workers used: unlike wall time, it does not depend on what else the machine is
    # running. Worker start-up is included.
    workers_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = workers_cpu.ru_utime + workers_cpu.ru_stime
    load = os.getloadavg()[0]
    fanout_copies = Counter()
    for rcpt, n in sink.copies.items():
        if not rcpt.startswith("raw"):
            fanout_copies[rcpt] = n
    expected = Counter()
    for size in args.sizes:
        for i in range(size):
            expected[f"bench{i}@example.org"] += 1
    sent = Delivery.objects.filter(status=Delivery.Status.SENT).count()
    wrong = sum(1 for r, n in expected.items() if fanout_copies.get(r) != n)
    headline, raw, own_cpu, _pk = results[args.subscribers]
    print()
    print(f"{'subscribers':>12} {'fan-out s':>10} {'ms/copy':>8} {'raw SMTP s':>11} {'ratio':>6}")
    for size, (total, raw_s, _cpu, _pk) in results.items():
        print(
            f"{size:>12,} {total:>10.2f} {1000 * total / size:>8.3f} {raw_s:>11.2f} "
            f"{total / raw_s:>6.2f}"
        )
    print()
    print(
        f"delivered:        {sum(fanout_copies.values()):,} list copies ({sum(args.sizes):,} due)"
    )
    print(f"ledger rows sent: {sent:,}")
    print(f"duplicates/lost:  {wrong}")
    print(
        f"headline:         {args.subscribers:,} copies in {headline:.2f} s "
        f"({args.subscribers / headline:,.0f}/s), {headline / raw:.2f}x raw SMTP ({raw:.2f} s)"
    )
    print(f"CPU, workers:     {workers_cpu:.1f} s (all sizes, start-up included)")
    print(f"load average:     {load:.1f} on {os.cpu_count()} cores")
    print(f"target <= 10 s:   {'met' if headline <= 10 and not wrong else 'MISSED'}")
    return 0 if sent == sum(args.sizes) and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
