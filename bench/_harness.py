"""What the PostgreSQL + Redis benchmarks share: Django set up on a scratch database."""

import os


def run_on_scratch_database(name: str, run, args) -> int:
    """Set Django up, create a throwaway test database, call run(args, settings, connection).

    Refuses (exit code 2) unless DATABASE_URL names PostgreSQL and CELERY_BROKER_URL Redis,
    because the figures only mean something on the production stack.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections

    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        print(f"bench/{name} needs PostgreSQL and Redis: set DATABASE_URL and CELERY_BROKER_URL")
        return 2
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        return run(args, settings, connection)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def start_thread_workers(
    env: dict,
    *,
    count: int,
    threads: int,
    name: str,
    queues: str = "",
    nice: int = 0,
    running: int = 0,
) -> list:
    """Start `count` real Celery worker processes (thread pool, `threads` each) with `env`,
    and return them once every one answers a ping. Exits when they do not start in 2 minutes.
    The caller terminates them. `queues` (default: default,mail) picks what they consume;
    `nice` lowers their CPU priority; `running` counts workers already answering pings."""
    import subprocess
    import time

    from django.conf import settings

    from portal.celery import app
    from tests.discussions import worker_process

    workers = [
        subprocess.Popen(
            (["nice", "-n", str(nice)] if nice else [])
            + worker_process.command(
                "--pool",
                "threads",
                "--concurrency",
                str(threads),
                "--hostname",
                f"{name}{n}@%h",
                *(["--queues", queues] if queues else []),
            ),
            env=env,
            cwd=settings.BASE_DIR,
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 120
    while len(app.control.ping(timeout=0.5) or []) < count + running:
        if time.monotonic() > deadline:
            for worker in workers:
                worker.terminate()
            raise SystemExit("the Celery workers did not start")
    return workers
