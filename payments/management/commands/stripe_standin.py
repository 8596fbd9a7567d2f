"""`manage.py stripe_standin`: run the local Stripe stand-in for `make run`, unless a real key
is configured, in which case it idles quietly (honcho stops every process when one exits)."""

import contextlib
import signal
import threading
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from devtools.stripe_standin.__main__ import main
from payments import gateway


class Command(BaseCommand):
    help = "Run the local Stripe stand-in (devtools/stripe_standin) when no real Stripe key is set."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", default=str(settings.VAR_DIR / "stripe-standin.sqlite3"))

    def handle(self, *args: Any, **options: Any) -> None:
        if not gateway.is_standin():
            self.stdout.write(
                "STRIPE_SECRET_KEY is a real key: talking to Stripe, the stand-in is not started."
            )
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
            return
        base = urlsplit(settings.STRIPE_API_BASE)
        main(
            [
                "--host",
                base.hostname or "127.0.0.1",
                "--port",
                str(base.port or 12111),
                "--webhook-url",
                f"{settings.SITE_URL}/stripe/webhook/",
                "--webhook-secret",
                settings.STRIPE_WEBHOOK_SECRET,
                "--data",
                options["data"],
                "--quiet",
            ]
        )
