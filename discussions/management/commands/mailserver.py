"""`manage.py mailserver`: the inbound listener for list mail.

    python manage.py mailserver --smtp --host 127.0.0.1 --port 8025   # a laptop: `make run`
    python manage.py mailserver --lmtp --host 127.0.0.1 --port 8024   # behind Postfix

Each message is stored before the listener answers 250; ingestion runs on a Celery worker.
"""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from discussions.smtp import make_controller


class Command(BaseCommand):
    help = "Receive list mail over SMTP (local) or LMTP (behind an MTA such as Postfix)."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--smtp",
            action="store_const",
            const="smtp",
            dest="mode",
            help="speak SMTP, for a laptop (`make run` listens on 127.0.0.1:8025)",
        )
        mode.add_argument(
            "--lmtp",
            action="store_const",
            const="lmtp",
            dest="mode",
            help="speak LMTP, behind Postfix (the README uses 127.0.0.1:8024)",
        )
        parser.add_argument(
            "--host",
            default=settings.MAILSERVER_HOST,
            help="address to listen on (MAILSERVER_HOST, default %(default)s)",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=settings.MAILSERVER_PORT,
            help="port to listen on (MAILSERVER_PORT, default %(default)s; "
            "any port over 1023 needs no root)",
        )
        parser.add_argument(
            "--size-limit",
            type=int,
            default=settings.DISCUSSIONS_MAX_MESSAGE_BYTES,
            help="largest message accepted, advertised as SIZE (default %(default)s bytes)",
        )

    def handle(self, *args, mode=None, host, port, size_limit, **options):
        mode = mode or settings.MAILSERVER_MODE
        controller = make_controller(
            host=host, port=port, lmtp=mode == "lmtp", size_limit=size_limit
        )
        controller.start()
        self.stdout.write(
            f"Listening for {mode.upper()} on {host}:{port} for *@{settings.LIST_DOMAIN} "
            f"(size limit {size_limit:,} bytes). Ctrl-C to stop."
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        controller.stop()
        self.stdout.write("Mail server stopped.")
