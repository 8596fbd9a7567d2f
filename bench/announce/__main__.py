"""Announcement benchmark: one announcement to 10,000 active members, delivered over SMTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guildhall_bench \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python -m bench.announce [--members 10000] [--workers 2] [--concurrency 4]

The same harness as bench/fanout: a throwaway PostgreSQL database, `--members` active members,
`--workers` real Celery worker processes on Redis and a counting SMTP sink on 127.0.0.1. Staff
schedule an announcement to "all active members" the way the admin's button does, and the
clock runs until the sink has every copy (dispatch, ledger rows, batches). It then checks the
ledger and the sink: every row sent, every member exactly one copy. Target: 10 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time

from bench._harness import run_on_scratch_database, start_thread_workers
from bench.fanout.__main__ import CountingSink

TARGET_SECONDS = 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker")
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    return run_on_scratch_database("announce", run, args)


def run(args, settings, connection) -> int:
    from aiosmtpd.controller import Controller
    from django.contrib.auth import get_user_model

    from announcements import services
    from announcements.models import Announcement, AnnouncementDelivery
    from tests.conftest import free_port
    from tests.discussions import worker_process
    from tests.factories import MembershipFactory, PlanFactory

    User = get_user_model()
    users = User.objects.bulk_create(
        [
            User(username=f"bench{i}", email=f"bench{i}@example.org", first_name=f"Member{i}")
            for i in range(args.members)
        ],
        batch_size=2000,
    )
    plan = PlanFactory()
    memberships = [MembershipFactory.build(user=u, plan=plan) for u in users]
    type(memberships[0]).objects.bulk_create(memberships, batch_size=2000)
    staff = User.objects.create(username="staff", email="staff@example.org", is_staff=True)
    announcement = Announcement.objects.create(
        subject="Annual meeting on Dec 9",
        body="<p>Our <b>annual meeting</b> is on Dec 9 in Chicago.</p>"
        '<ul><li>Agenda</li><li>Dues vote</li></ul><p><a href="/conferences/">Details</a></p>',
    )

    logging.getLogger("mail.log").setLevel(logging.WARNING)
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
    workers = start_thread_workers(env, count=args.workers, threads=args.concurrency, name="annc")
    try:
        print(
            f"{args.members:,} members, {args.workers} worker processes x "
            f"{args.concurrency} threads, batches of {args.batch}, sink on 127.0.0.1:{port}"
        )
        started = time.perf_counter()
        own_cpu = time.process_time()
        count = services.recipient_count(announcement)
        counted = time.perf_counter() - started
        services.announcement_schedule(announcement_id=announcement.pk, actor=staff)
        last = 0
        while sink.total < args.members:
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

    workers_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = workers_cpu.ru_utime + workers_cpu.ru_stime
    load = os.getloadavg()[0]
    sent = AnnouncementDelivery.objects.filter(status=AnnouncementDelivery.Status.SENT).count()
    duplicates = sum(1 for n in sink.copies.values() if n > 1)
    state = Announcement.objects.get(pk=announcement.pk).state
    met = total <= TARGET_SECONDS and not duplicates and sent == args.members
    print(f"recipient count:  {count:,} (counted in {counted:.2f} s)")
    print(f"delivered:        {sink.total:,} copies to {len(sink.copies):,} recipients")
    print(f"ledger rows sent: {sent:,}; announcement {state}")
    print(f"duplicates:       {duplicates}")
    print(f"total time:       {total:.2f} s (schedule click to last copy in the sink)")
    print(f"messages/second:  {args.members / total:,.0f}")
    print(f"CPU, workers:     {workers_cpu:.1f} s (start-up included)")
    print(f"CPU, SMTP sink:   {own_cpu:.1f} s")
    print(f"load average:     {load:.1f} on {os.cpu_count()} cores")
    print(f"target <= {TARGET_SECONDS} s:   {'met' if met else 'MISSED'}")
    return 0 if sent == args.members and not duplicates else 1


if __name__ == "__main__":
    sys.exit(main())
