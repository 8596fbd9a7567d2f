"""Run a real Celery worker as a separate process, pointed at a test's database and broker.

    GUILDHALL_WORKER_OVERRIDES='{"EMAIL_PORT": 2525, ...}' DATABASE_URL=postgres://.../test_x \
        python -m tests.discussions.worker_process --concurrency 1

The test settings give every process its own broker key prefix and the in-memory mail outbox;
a worker that has to share a test's queue and deliver over SMTP needs the parent's values, so
the parent passes them as JSON and they are applied before Celery reads its configuration.
Used by the crash test and by bench/fanout.

For the crash test, GUILDHALL_WORKER_KILL_AT_COPY=N makes the worker kill -9 itself while it
sends the N-th copy of a post: the message body is written, the final "." is not, and the
ledger row is still claimed. The crash then always comes at the same, worst, moment instead of
whenever a signal from outside happens to land.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()
    from django.conf import settings

    for key, value in json.loads(os.environ.get("GUILDHALL_WORKER_OVERRIDES", "{}")).items():
        setattr(settings, key, value)
    if os.environ.get("GUILDHALL_WORKER_KILL_AT_COPY"):
        _die_while_sending(int(os.environ["GUILDHALL_WORKER_KILL_AT_COPY"]))
    from portal.celery import app

    app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    app.worker_main(
        [
            "worker",
            "--queues",
            "default,mail",
            "--loglevel",
            os.environ.get("WORKER_LOGLEVEL", "WARNING"),
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            *sys.argv[1:],
        ]
    )


def _die_while_sending(copy_number: int) -> None:
    """Kill -9 this process in the middle of sending copy `copy_number`, just before the
    ledger commit (see discussions.smtp.Outbox.send and send_group): the server holds a
    half-sent message (for a group, every message of the group) and the rows say claimed.
    Test-only: it wraps the product's Outbox here, not in the app."""
    from discussions import smtp

    send = smtp.Outbox.send
    sent = itertools.count(1)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def send_or_die(self, *, commit, **kwargs):
        if next(sent) == copy_number:
            commit = die
        return send(self, commit=commit, **kwargs)

    smtp.Outbox.send = send_or_die
    send_group = smtp.Outbox.send_group

    def send_group_or_die(self, items, *, commit):
        # A group is committed (and so killed) as one: the kill lands in the group that holds
        # copy N, with every body of it written and no "." sent.
        numbers = [next(sent) for _ in items]
        if copy_number in numbers:
            commit = die
        return send_group(self, items, commit=commit)

    smtp.Outbox.send_group = send_group_or_die


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.discussions.worker_process", *args]


def environment(*, database_url: str, overrides: dict, kill_at_copy: int | None = None) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["GUILDHALL_WORKER_OVERRIDES"] = json.dumps(overrides)
    env.pop("GUILDHALL_WORKER_KILL_AT_COPY", None)
    if kill_at_copy is not None:
        env["GUILDHALL_WORKER_KILL_AT_COPY"] = str(kill_at_copy)
    return env


def database_url(connection) -> str:
    """A URL for the database `connection` is using right now (the test database)."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (
        f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
        f"/{s['NAME']}"
    )


if __name__ == "__main__":
    main()
