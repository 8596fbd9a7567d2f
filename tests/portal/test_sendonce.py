"""portal.sendonce: a mail goes out once however many workers run its task, no database lock is
held while the mail server talks, and a worker that died after claiming is taken over later.

Real parts: the membership notice task and ledger, a real SMTP server (aiosmtpd), and on
PostgreSQL real concurrent connections from two threads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from conferences.tasks import send_attendee_ticket
from discussions.tasks import send_digest, send_hold_notice
from membership import services
from membership.models import Notice
from membership.tasks import _notice_mail, send_notice
from portal.models import MailClaim
from portal.sendonce import SendInProgress, send_once_stamped
from tests.discussions.worker_process import database_url
from tests.factories import MembershipFactory

# A worker process that runs the real notice task against the test database and is killed -9
# in the middle of the SMTP conversation: half the message written, the final "." never.
_KILLED_WORKER = """
import os, signal, smtplib, sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
import django

django.setup()
from django.conf import settings

settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", int(sys.argv[2])


def sendmail(self, from_addr, to_addrs, msg, *args, **kwargs):
    self.ehlo_or_helo_if_needed()
    self.mail(from_addr)
    for rcpt in to_addrs:
        self.rcpt(rcpt)
    self.putcmd("data")
    self.getreply()
    self.send(msg[: len(msg) // 2])
    os.kill(os.getpid(), signal.SIGKILL)


smtplib.SMTP.sendmail = sendmail
from membership.tasks import send_notice

send_notice(int(sys.argv[1]))
"""


class WorkerDied(BaseException):
    """Stands for SIGKILL: nothing in the helper gets to run after it (not even the release)."""


def _notice() -> Notice:
    services.notice_queue(membership=MembershipFactory(), kind=Notice.Kind.WELCOME, key="x")
    return Notice.objects.get()


def _in_thread(fn):
    """Run `fn` in a thread with its own database connection; returns (thread, outcome list)."""
    outcome = []

    def run():
        try:
            outcome.append(fn())
        except Exception as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_worker_is_turned_away_at_once_while_the_first_talks_to_smtp(smtp_server):
    notice = _notice()
    in_smtp, let_go = threading.Event(), threading.Event()

    def slow_build():
        in_smtp.set()  # claimed; now "talking to the mail server" for as long as the test says
        assert let_go.wait(20)
        return _notice_mail(notice.pk)

    first, first_outcome = _in_thread(
        lambda: send_once_stamped(Notice, notice.pk, "sent_at", slow_build)
    )
    assert in_smtp.wait(20)

    started = time.monotonic()
    second, second_outcome = _in_thread(lambda: send_notice(notice.pk))
    second.join(20)
    # Turned away, not queued behind a row lock: the first worker holds no lock while it sends.
    assert time.monotonic() - started < 5
    assert isinstance(second_outcome[0], SendInProgress)
    Notice.objects.filter(pk=notice.pk).update(to_email=notice.to_email)  # the row is not locked

    let_go.set()
    first.join(20)
    assert first_outcome == [True]
    assert send_notice(notice.pk) is False  # the second worker's retry finds it sent
    assert len(smtp_server.wait_for(1)) == 1
    time.sleep(0.2)
    assert len(smtp_server.received) == 1
    assert not MailClaim.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_started_together_send_the_notice_once(smtp_server):
    notice = _notice()
    start = threading.Barrier(2)

    def run():
        start.wait(10)
        return send_notice(notice.pk)

    runs = [_in_thread(run) for _ in range(2)]
    for thread, _ in runs:
        thread.join(30)
    outcomes = [outcome[0] for _, outcome in runs]

    # One sent it; the other found it sent, or found it claimed (and its retry finds it sent).
    assert outcomes.count(True) == 1
    assert all(o is True or o is False or isinstance(o, SendInProgress) for o in outcomes)
    assert send_notice(notice.pk) is False
    time.sleep(0.2)
    assert len(smtp_server.received) == 1
    notice.refresh_from_db()
    assert notice.sent_at is not None
    assert not MailClaim.objects.exists()


@pytest.mark.django_db
def test_a_worker_that_died_between_claim_and_send_is_taken_over_once_its_claim_is_stale(
    settings, smtp_server
):
    settings.MAIL_CLAIM_TIMEOUT = 600
    notice = _notice()

    def die():
        raise WorkerDied

    with pytest.raises(WorkerDied):
        send_once_stamped(Notice, notice.pk, "sent_at", die)
    assert MailClaim.objects.count() == 1  # left behind, as a killed worker leaves it

    # The redelivered task comes too soon: the claim might still be a live worker's.
    with pytest.raises(SendInProgress):
        send_notice(notice.pk)
    assert smtp_server.received == []

    # Later retries find the claim stale, take it over and send, once.
    MailClaim.objects.update(claimed_at=timezone.now() - timedelta(seconds=601))
    assert send_notice(notice.pk) is True
    assert send_notice(notice.pk) is False
    assert len(smtp_server.wait_for(1)) == 1
    assert not MailClaim.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_smtp_leaves_a_claim_a_later_retry_takes_over_and_sends_once(
    smtp_server,
):
    notice = _notice()
    worker = subprocess.run(
        [sys.executable, "-c", _KILLED_WORKER, str(notice.pk), str(smtp_server.port)],
        env={**os.environ, "DATABASE_URL": database_url(connection)},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        timeout=120,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr.decode()[-2000:]
    assert MailClaim.objects.count() == 1
    time.sleep(0.5)
    assert smtp_server.received == []  # the half-written message was never accepted

    with pytest.raises(SendInProgress):  # redelivered at once: it may be a live worker's claim
        send_notice(notice.pk)
    MailClaim.objects.update(claimed_at=timezone.now() - timedelta(hours=1))
    assert send_notice(notice.pk) is True  # a later retry: the claim is stale
    assert send_notice(notice.pk) is False
    assert len(smtp_server.wait_for(1)) == 1
    time.sleep(0.2)
    assert len(smtp_server.received) == 1


@pytest.mark.django_db
def test_a_notice_sent_before_the_claims_existed_is_not_sent_again():
    notice = _notice()
    Notice.objects.filter(pk=notice.pk).update(sent_at=timezone.now())

    assert send_notice(notice.pk) is False
    assert not MailClaim.objects.exists()


def test_every_ledgered_mail_task_retries_a_claim_held_elsewhere():
    for task in (send_notice, send_digest, send_hold_notice, send_attendee_ticket):
        assert issubclass(SendInProgress, task.autoretry_for), task.name
