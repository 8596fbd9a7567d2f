"""Run a real Celery worker as a separate process, pointed at a test's database and broker.

    GUILDHALL_WORKER_OVERRIDES='{"EMAIL_PORT": 2525, ...}' DATABASE_URL=postgres://.../test_x \
        python -m tests.discussions.worker_process --concurrency 1

The test settings give every process its own broker key prefix and the in-memory mail outbox;
a worker that has to share a test's queue and deliver over SMTP needs the parent's values, so
the parent passes them as JSON and they are applied before Celery reads its configuration.
Used by the crash test (which kill -9s it) and by bench/fanout.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()
    from django.conf import settings

    for key, value in json.loads(os.environ.get("GUILDHALL_WORKER_OVERRIDES", "{}")).items():
        setattr(settings, key, value)
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


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.discussions.worker_process", *args]


def environment(*, database_url: str, overrides: dict) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["GUILDHALL_WORKER_OVERRIDES"] = json.dumps(overrides)
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
