"""``python -m devtools.stripe_standin``: run the stand-in until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from .server import StandinServer

log = logging.getLogger("stripe_standin")


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m devtools.stripe_standin",
        description="A local Stripe stand-in for stripe-python (test mode only).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env.get("STRIPE_STANDIN_PORT", "12111")),
        help="port to bind, 0 for any free one (env STRIPE_STANDIN_PORT, default 12111)",
    )
    parser.add_argument(
        "--webhook-url",
        default=env.get("STRIPE_WEBHOOK_URL"),
        help="where to POST events (env STRIPE_WEBHOOK_URL; without it events are only stored)",
    )
    parser.add_argument(
        "--webhook-secret",
        default=env.get("STRIPE_WEBHOOK_SECRET", "whsec_standin"),
        help="signing secret (env STRIPE_WEBHOOK_SECRET, default whsec_standin)",
    )
    parser.add_argument(
        "--data",
        default=env.get("STRIPE_STANDIN_DATA", ":memory:"),
        help="SQLite file that keeps state across restarts (env STRIPE_STANDIN_DATA; "
        "default: in memory)",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        help="origin browsers use to reach the stand-in, if not http://HOST:PORT",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s stripe-standin %(message)s")
    if args.data != ":memory:":
        Path(args.data).parent.mkdir(parents=True, exist_ok=True)
    server = StandinServer(
        args.port,
        host=args.host,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        data=args.data,
        public_url=args.public_url,
        log_requests=not args.quiet,
    )

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # honcho and most supervisors stop processes with SIGTERM; leave as cleanly as on Ctrl-C.
    signal.signal(signal.SIGTERM, _stop)
    server.bind()
    log.info("listening on %s (API base for stripe-python)", server.url)
    log.info("webhooks to %s", server.webhook_url or "nowhere: no --webhook-url given")
    # Ctrl-C (and SIGTERM, above) is the normal way to stop; serve_forever cleans up.
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
