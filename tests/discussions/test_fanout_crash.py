"""Kill -9 the worker in the middle of a fan-out to 1,000 subscribers: nobody gets two copies."""

import signal
import subprocess
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.db import connection

from discussions import services
from discussions.models import Delivery, Subscription
from portal.celery import app
from tests.factories import MemberFactory

from . import worker_process
from .helpers import make_list

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SUBSCRIBERS = 1000
BATCH = 200
# The worker dies sending this copy: halfway through its second batch, body written, "." not.
KILLED_AT_COPY = 301
# Deadlines grow with the work: a worker start, then a fixed allowance per copy, about ten
# times what a loaded 2-core machine needs, so only a stuck worker runs out of time.
START_SECONDS = 60
SECONDS_PER_COPY = 0.2


def _start_worker(smtp_server, *, kill_at_copy=None):
    overrides = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": smtp_server.port,
        "DISCUSSIONS_BATCH_SIZE": BATCH,
        "CELERY_BROKER_TRANSPORT_OPTIONS": django_settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    }
    env = worker_process.environment(
        database_url=worker_process.database_url(connection),
        overrides=overrides,
        kill_at_copy=kill_at_copy,
    )
    # Solo pool: the process that dies is the one sending, not a supervisor of it.
    return subprocess.Popen(
        worker_process.command("--pool", "solo"),
        env=env,
        cwd=django_settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _empty_the_queues():
    """Drop jobs earlier tests of this run queued and no worker took: the worker started here
    would run them too, and one that sends mail would add a message to this test's count."""
    with app.connection_for_write() as conn:
        for queue in ("default", "mail"):
            conn.default_channel.queue_purge(queue)


def _allowance(copies: int) -> float:
    return START_SECONDS + SECONDS_PER_COPY * copies


def _wait_for_exit(worker, timeout: float, what: str) -> int:
    try:
        return worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} within {timeout:.0f}s; ledger: {_ledger()}")


def _ledger() -> dict[str, int]:
    return Counter(Delivery.objects.values_list("status", flat=True))


def _wait_until_every_row_is_sent(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Delivery.objects.exclude(status=Delivery.Status.SENT).exists():
        if time.monotonic() > deadline:
            pytest.fail(
                f"the restarted worker did not mark all {SUBSCRIBERS} copies sent within "
                f"{timeout:.0f}s; ledger: {_ledger()}"
            )
        time.sleep(0.2)


def test_killed_worker_resumes_and_every_subscriber_gets_exactly_one_copy(smtp_server, settings):
    billing = make_list()
    users = MemberFactory.create_batch(SUBSCRIBERS, verified_email=False)
    Subscription.objects.bulk_create(
        [Subscription(user=u, mailing_list=billing, mode="every") for u in users]
    )
    author = users[0]
    settings.DISCUSSIONS_BATCH_SIZE = BATCH
    _empty_the_queues()
    worker = _start_worker(smtp_server, kill_at_copy=KILLED_AT_COPY)
    try:
        services.message_post_web(
            user=author, mailing_list=billing, subject="Staffing ratios", text="What is yours?"
        )
        returncode = _wait_for_exit(
            worker, _allowance(KILLED_AT_COPY), f"the worker did not reach copy {KILLED_AT_COPY}"
        )
        assert returncode == -signal.SIGKILL, worker.stderr.read().decode()[-2000:]
        delivered_before_restart = len(smtp_server.received)
        # Each copy before the fatal one was acknowledged by the server, the fatal one never.
        assert delivered_before_restart == KILLED_AT_COPY - 1
        assert delivered_before_restart < SUBSCRIBERS, "the kill came too late to prove anything"
        assert Delivery.objects.filter(status=Delivery.Status.CLAIMED).exists()

        # The beat's sweeper would return the dead worker's claims after
        # DISCUSSIONS_CLAIM_TIMEOUT; with no worker alive every claim is stale, so sweep now.
        services.deliveries_sweep(claim_timeout=0)
        worker = _start_worker(smtp_server)
        _wait_until_every_row_is_sent(_allowance(SUBSCRIBERS - delivered_before_restart))
        # With every row sent nothing can be claimed again; a warm shutdown lets the worker
        # finish what it holds, so once it has exited the server has everything it will get.
        worker.send_signal(signal.SIGTERM)
        _wait_for_exit(worker, START_SECONDS, "the worker did not finish after SIGTERM")
    finally:
        worker.kill()
        worker.wait(timeout=10)

    copies = Counter(rcpt for mail in smtp_server.received for rcpt in mail.rcpt_tos)
    assert len(copies) == SUBSCRIBERS
    assert set(copies.values()) == {1}, [r for r, n in copies.items() if n > 1][:5]
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == SUBSCRIBERS
