"""Lighthouse scores of the public pages, desktop and phone.

    .venv/bin/python -m bench.lighthouse [--pages home,articles] [--forms desktop,mobile]

It builds a PostgreSQL database of its own (guildhall_bench_lighthouse on 127.0.0.1, dropped and
made again each run), loads the demo content, collects static files and starts the portal under
gunicorn with production settings on 127.0.0.1 (as bench/pages does), then runs Lighthouse 12
(node_modules/.bin/lighthouse, pinned in package.json) with Debian's Chromium against each page,
once as a desktop and once as a phone, and prints the four category scores. Reports (JSON) are
kept under var/bench-lighthouse/ for reading the audits behind a score.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.pages.__main__ import (
    GUNICORN,
    build_demo_database,
    free_port,
    manage,
    wait_until_up,
)

ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME = "/usr/bin/chromium"
DB_NAME = "guildhall_bench_lighthouse"
PAGES = {
    "home": "/",
    "articles": "/articles/",
    "article": "/articles/hiring-and-keeping-great-front-desk-staff/",
    "join": "/membership/join/",
    "conference": "/conferences/annual-conference/",
    "discussions": "/discussions/",
}
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]


def lighthouse(url: str, form: str, out: Path) -> dict[str, int]:
    """Run Lighthouse once; the four category scores out of 100."""
    with tempfile.TemporaryDirectory(prefix="lighthouse-profile-") as profile:
        cmd = [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-path={CHROME}",
            f"--chrome-flags=--headless=new --no-sandbox --disable-gpu --user-data-dir={profile}",
            f"--only-categories={','.join(CATEGORIES)}",
            # Lighthouse's default phone; `desktop` is its own preset.
            *(["--preset=desktop"] if form == "desktop" else ["--form-factor=mobile"]),
        ]
        subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "CHROME_PATH": CHROME})
    report = json.loads(out.read_text())
    return {name: round((report["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    parser.add_argument("--forms", default="desktop,mobile")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        print("node_modules/.bin/lighthouse is missing: run `npm ci` (make install)")
        return 2

    port = free_port()
    var = ROOT / "var" / "bench-lighthouse"
    var.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"{args.postgres}/{DB_NAME}",
        "CELERY_BROKER_URL": f"{args.redis}/11",
        "REDIS_URL": f"{args.redis}/12",
        "EMAIL_URL": "smtp://127.0.0.1:1",
        "MEDIA_ROOT": str(var / "media"),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DEMO_MODE": "true",
        "DEBUG": "false",
    }
    build_demo_database(env, args.postgres, DB_NAME)

    # Production settings, except what a loopback run cannot have: TLS (so no https redirect)
    # and real Stripe keys (no page here talks to Stripe; these only pass the start-up check).
    prod = {
        **env,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECURE_SSL_REDIRECT": "false",
        "STRIPE_SECRET_KEY": "sk_test_lighthouse",
        "STRIPE_WEBHOOK_SECRET": "whsec_lighthouse",
    }
    prod.pop("DEMO_MODE")
    prod.pop("DEBUG")
    manage(prod, "collectstatic", "--noinput", "-v0")
    server = subprocess.Popen(
        [GUNICORN, "bench.lighthouse.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=prod,
    )
    rows = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/")
        # As a server in service is warm: the first request for a page makes its image
        # renditions and fills the caches, which is not what a visitor usually meets.
        for name in args.pages.split(","):
            for _ in range(2):
                wait_until_up(base + PAGES[name])
        for name in args.pages.split(","):
            for form in args.forms.split(","):
                scores = lighthouse(base + PAGES[name], form, var / f"{name}-{form}.json")
                rows.append((name, form, scores))
                print(f"  {name:<12} {form:<8} {scores}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)

    print()
    print("bench/lighthouse: Lighthouse 12, Chromium headless, production settings, gunicorn")
    header = "| page | form | " + " | ".join(CATEGORIES) + " |"
    print(header)
    print("|" + "---|" * (2 + len(CATEGORIES)))
    for name, form, scores in rows:
        print(f"| {name} | {form} | " + " | ".join(str(scores[c]) for c in CATEGORIES) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
