"""Kill -9 the worker in the middle of a fan-out to 1,000 subscribers: nobody gets two copies."""

import os
import signal
import subprocess
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.db import connection

from discussions import services
from discussions.models import Delivery, Subscription
from tests.conftest import wait_for
from tests.factories import MemberFactory

from . import worker_process
from .helpers import make_list

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SUBSCRIBERS = 1000


def _start_worker(smtp_server):
    overrides = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": smtp_server.port,
        "DISCUSSIONS_BATCH_SIZE": 200,
        "CELERY_BROKER_TRANSPORT_OPTIONS": django_settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    }
    env = worker_process.environment(
        database_url=worker_process.database_url(connection), overrides=overrides
    )
    # Solo pool: the process we kill is the one sending, not a supervisor of it.
    return subprocess.Popen(
        worker_process.command("--pool", "solo"),
        env=env,
        cwd=django_settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_killed_worker_resumes_and_every_subscriber_gets_exactly_one_copy(smtp_server, settings):
    billing = make_list()
    users = MemberFactory.create_batch(SUBSCRIBERS, verified_email=False)
    Subscription.objects.bulk_create(
        [Subscription(user=u, mailing_list=billing, mode="every") for u in users]
    )
    author = users[0]
    settings.DISCUSSIONS_BATCH_SIZE = 200
    worker = _start_worker(smtp_server)
    try:
        services.message_post_web(
            user=author, mailing_list=billing, subject="Staffing ratios", text="What is yours?"
        )
        # Kill it without warning halfway through its second batch of 200.
        wait_for(lambda: len(smtp_server.received) >= 300, timeout=120, interval=0.01)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        delivered_before_restart = len(smtp_server.received)
        assert delivered_before_restart < SUBSCRIBERS, "the kill came too late to prove anything"
        assert Delivery.objects.filter(status=Delivery.Status.CLAIMED).exists()

        # The beat's sweeper would return the dead worker's claims after
        # DISCUSSIONS_CLAIM_TIMEOUT; with no worker alive every claim is stale, so sweep now.
        services.deliveries_sweep(claim_timeout=0)
        worker = _start_worker(smtp_server)
        # Generous: on a loaded machine the restarted worker drains the rest slowly.
        smtp_server.wait_for(SUBSCRIBERS, timeout=420)
        wait_for(
            lambda: not Delivery.objects.exclude(status=Delivery.Status.SENT).exists(),
            timeout=60,
        )
        time.sleep(2)  # anything sent twice would arrive now
    finally:
        worker.kill()
        worker.wait(timeout=10)

    copies = Counter(rcpt for mail in smtp_server.received for rcpt in mail.rcpt_tos)
    assert len(copies) == SUBSCRIBERS
    assert set(copies.values()) == {1}, [r for r, n in copies.items() if n > 1][:5]
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == SUBSCRIBERS
