"""Fixtures every app's tests share: real parts, not mocks.

- `celery_worker`: a real Celery worker consuming the configured broker (filesystem or Redis).
- `smtp_server`: a real SMTP server (aiosmtpd) on a free loopback port recording what it gets.
- `browser_page`: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.
- `demo_site`: the demo content that `make run` loads.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from a
# thread with a running loop unless told this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


# --- markers --------------------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL (row locks); set DATABASE_URL=postgres://... to run it"
    )
    live_key = os.environ.get("STRIPE_SECRET_KEY", "").startswith("sk_test_") and not (
        os.environ.get("STRIPE_SECRET_KEY", "").endswith("standin")
    )
    skip_live = pytest.mark.skip(reason="needs a real Stripe test key in STRIPE_SECRET_KEY")
    transactional_fixtures = {"transactional_db", "live_server", "celery_worker", "browser_page"}
    for item in items:
        marker = item.get_closest_marker("django_db")
        wants_transaction = bool(marker and marker.kwargs.get("transaction")) or bool(
            transactional_fixtures & set(getattr(item, "fixturenames", ()))
        )
        if wants_transaction:
            # A transactional test ends with a flush that also wipes rows data migrations made
            # (Wagtail's locale and page tree root, our groups). Serialized rollback puts them
            # back, so the next test starts from the migrated database like every other test.
            kwargs = dict(marker.kwargs) if marker else {}
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "stripe_live" in item.keywords and not live_key:
            item.add_marker(skip_live)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache, so no page or count leaks from the one before."""
    from django.core.cache import cache

    from portal.cache import forget_local

    cache.clear()
    forget_local()


# --- Staff sessions -------------------------------------------------------------------------


def second_factor_client(user, client=None):
    """A test client signed in as `user` the way staff areas require: the user has an
    authenticator app (a real TOTP authenticator, tests.factories.TOTP_SECRET, set up through
    allauth unless they have one) and the session has used it, recorded by allauth's own
    "authenticated with a second factor" step."""
    from allauth.mfa.base.internal.flows import post_authentication
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from django.test import Client, RequestFactory

    from tests.factories import TOTP_SECRET

    client = client or Client()
    authenticator = (
        Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        or TOTP.activate(user, TOTP_SECRET).instance
    )
    client.force_login(user)
    request = RequestFactory().get("/")
    request.user = user
    request.session = client.session
    post_authentication(request, authenticator)
    request.session.save()
    return client


@pytest.fixture
def mfa_client():
    """second_factor_client as a fixture: `mfa_client(user)` returns a signed-in client."""
    return second_factor_client


# --- Celery ---------------------------------------------------------------------------------


@pytest.fixture
def celery_worker(transactional_db):
    """A real worker in a thread of this process, on the configured broker.

    Tests that use it see committed data only, hence `transactional_db`. The worker listens on
    every queue the portal routes to.
    """
    from celery.contrib.testing.worker import start_worker

    from portal.celery import app

    queues = ["default", "mail"]
    # A task an earlier test queued with no worker running (a confirmation mail, say) would
    # otherwise run here and land in this test's SMTP server.
    with app.connection_for_write() as connection:
        for name in queues:
            # The filesystem broker's folders appear with the first message.
            with contextlib.suppress(FileNotFoundError):
                connection.default_channel.queue_purge(name)
    with start_worker(
        app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        shutdown_timeout=30,
        queues=queues,
        loglevel="WARNING",
    ) as worker:
        yield worker
        # A task still running (a receipt's PDFs on a busy machine) would finish after the
        # test and send to the next test's SMTP server: let it end here first.
        from celery.worker import state

        deadline = time.monotonic() + 30
        while (state.active_requests or state.reserved_requests) and time.monotonic() < deadline:
            time.sleep(0.05)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = ""):
    """Poll until predicate() is truthy; fail the test with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(message or f"condition not met within {timeout}s")


# --- SMTP -----------------------------------------------------------------------------------


@dataclass
class RecordedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: email.message.EmailMessage


@dataclass
class SMTPRecorder:
    host: str
    port: int
    received: list[RecordedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(
                RecordedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, message)
            )
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[RecordedMail]:
        wait_for(
            lambda: len(self.received) >= count,
            timeout,
            message=f"expected {count} mails, got {len(self.received)}",
        )
        return list(self.received)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django's mail goes to it for the test's duration."""
    from aiosmtpd.controller import Controller

    recorder = SMTPRecorder(host="127.0.0.1", port=free_port())
    controller = Controller(recorder, hostname=recorder.host, port=recorder.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = recorder.host
    settings.EMAIL_PORT = recorder.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield recorder
    finally:
        controller.stop()


# --- Browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install chromium to run it")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Starting Playwright's sync API switches this thread to a fresh contextvars context, and
    # Django keeps its connections in context-local storage; hand the test database connection
    # (which carries the serialized copy used by serialized rollback) to the new context.
    default_connection = connections["default"]
    with sync_playwright() as playwright:
        connections["default"] = default_connection
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Without these Chromium keeps trying to reach Google's hosts, which this machine
            # (and CI) cannot reach.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser tab whose relative URLs resolve against the live server."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ (git-ignored) for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- Content --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_snapshot(django_db_setup, django_db_blocker):
    """`load_demo`'s rows, made once per session (see tests/demo_snapshot.py)."""
    from tests.demo_snapshot import DemoSnapshot

    with django_db_blocker.unblock():
        return DemoSnapshot.take()


@pytest.fixture(autouse=True)
def _demo_before_other_fixtures(request):
    """A test that wants the demo gets it before its other fixtures make rows, as on a site
    where `make run` loaded it first (and the snapshot's rows then go in as they are)."""
    if "demo_site" in request.fixturenames:
        request.getfixturevalue("demo_site")


@pytest.fixture
def demo_site(db, demo_snapshot):
    """The demo association exactly as `make run` loads it."""
    if not demo_snapshot.restore():
        call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return connection.vendor


# --- Stripe ---------------------------------------------------------------------------------

STANDIN_WEBHOOK_SECRET = "whsec_test_standin"


@pytest.fixture
def stripe_standin(settings, request):
    """The local Stripe stand-in (devtools/stripe_standin) on a free port, with the portal's
    gateway pointed at it.

    When the test also uses `live_server`, the stand-in sends its signed webhooks to the live
    server's /stripe/webhook/ (add `celery_worker` to have them applied). Otherwise
    `webhook_url` is None: events are only stored, and the test delivers them itself, e.g.
    with `stripe_webhook` below (`stripe_standin.events()` lists them in order).
    """
    from devtools.stripe_standin import StandinServer

    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_WEBHOOK_SECRET = STANDIN_WEBHOOK_SECRET
    webhook_url = None
    if "live_server" in request.fixturenames:
        webhook_url = request.getfixturevalue("live_server").url + "/stripe/webhook/"
    server = StandinServer(
        port=0,
        webhook_url=webhook_url,
        webhook_secret=STANDIN_WEBHOOK_SECRET,
        retry_delays=(0.2, 0.5, 1.0, 2.0),
    ).start()
    settings.STRIPE_API_BASE = server.url
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stripe_webhook(client, settings):
    """POST a Stripe event to /stripe/webhook/ with a real signature, as Stripe would.

    `stripe_webhook(event)` signs with the configured secret and the current time; pass
    `secret=` to forge one or `timestamp=` to make it stale. Returns the response.
    """
    import json

    from devtools.stripe_standin import sign

    def post(event, *, secret: str | None = None, timestamp: int | None = None):
        payload = event if isinstance(event, str) else json.dumps(event)
        header = sign(payload, secret or settings.STRIPE_WEBHOOK_SECRET, timestamp)
        return client.post(
            "/stripe/webhook/",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": header},
        )

    return post
