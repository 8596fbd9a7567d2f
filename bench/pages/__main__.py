"""Page benchmark: the home page, the articles index and a post, anonymous and logged in, each
as a ratio to the static ceiling, with the demo's few articles and with 1,000 more.

    .venv/bin/python -m bench.pages [--duration 3] [--repeat 5] [--connections 8] [--workers 2]
        [--articles 1000] [--db guildhall_bench_pages] [--redis redis://127.0.0.1:6379]

It builds a PostgreSQL database of its own (`--db` on 127.0.0.1, dropped and made again each
run), loads the demo content, collects static files, starts the portal under gunicorn with
production settings (`--workers` gthread processes x `--threads`, Redis for the cache and the
broker) and drives it with wrk (installed with apt-get when missing).

The ceiling: each page's own HTML, rendered once for an anonymous reader, written under
STATIC_ROOT and served by WhiteNoise through the same gunicorn and middleware, i.e. what the
stack costs for a response needing no work at all. Each round runs, for every page, the static
copy, the anonymous reader and the signed-in member back to back, and rounds are interleaved,
so the machine's noise (it is shared) lands on the ceiling and the page alike; the ratio is the
page's req/s over its ceiling's in the same round, the median of the rounds shown.

Growth: after the first pass `--articles` more articles are added to the index and the same
pages measured again; req/s and the queries a page costs when no cache answers (counted with
Django's test client, rendered fragments warm) must not fall or grow with the count.

Targets (issue #18): anonymous pages at the ceiling; a member's article, index and home page at
>= 25% of it with p99 <= 25 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DB_NAME = "guildhall_bench_pages"
POST = "/articles/hiring-and-keeping-great-front-desk-staff/"
MEMBERS_POST = "/articles/2026-salary-and-staffing-survey-highlights/"
MEMBER_RATIO, MEMBER_P99_MS = 0.25, 25.0  # issue #18
PAGES = [
    ("home", "/"),
    ("index", "/articles/"),
    ("post", POST),
    ("members-only post", MEMBERS_POST),
]

QUERY_COUNT_SNIPPET = """
import json, sys
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
settings.PAGE_CACHE_ENABLED = False
settings.ALLOWED_HOSTS = ["*"]
settings.SECURE_SSL_REDIRECT = False
counts = {}
for who in ("anonymous", "member"):
    client = Client()
    if who == "member":
        client.force_login(get_user_model().objects.get(email="member@norm.local"))
    for name, url in json.loads(sys.argv[1]):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            status = client.get(url).status_code
        counts[f"{name}|{who}"] = (status, len(queries))
print("COUNTS" + json.dumps(counts))
"""

SESSION_SNIPPET = """
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
client.force_login(get_user_model().objects.get(email="member@norm.local"))
print("SESSION" + client.cookies[settings.SESSION_COOKIE_NAME].value)
"""

CEILING_SNIPPET = """
import json, sys
from pathlib import Path
from django.conf import settings
from django.test import Client
settings.ALLOWED_HOSTS = ["*"]
settings.SECURE_SSL_REDIRECT = False
folder = Path(settings.STATIC_ROOT) / "bench-ceiling"
folder.mkdir(parents=True, exist_ok=True)
urls = {}
for name, url in json.loads(sys.argv[1]):
    response = Client().get(url)
    assert response.status_code == 200, (url, response.status_code)
    slug = name.replace(" ", "-")
    (folder / f"{slug}.html").write_bytes(response.content)
    urls[name] = f"{settings.STATIC_URL}bench-ceiling/{slug}.html"
print("CEILINGS" + json.dumps(urls))
"""

ADD_ARTICLES_SNIPPET = """
import sys
from datetime import date, timedelta
from blog.models import BlogIndexPage, BlogPostPage
from portal.cache import content_changed
index = BlogIndexPage.objects.live().first()
count = int(sys.argv[1])
for n in range(count):
    post = BlogPostPage(
        title=f"Bench article {n}", slug=f"bench-article-{n}", intro=f"Bench article {n}.",
        date=date(2020, 1, 1) + timedelta(days=n % 2000),
        body=[("paragraph", f"<p>Article {n} about the practice.</p>")],
        members_only=n % 3 == 0,
    )
    index.add_child(instance=post)
content_changed()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing; installing it with apt-get ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def run(cmd: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=ROOT, check=True, text=True, **kwargs)


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = run([PYTHON, "manage.py", *args], env, capture_output=capture)
    return result.stdout if capture else ""


def shell(env: dict, code: str, *argv: str) -> str:
    script = f"import sys; sys.argv = {['shell', *argv]!r}\n" + code
    return manage(env, "shell", "--no-imports", "-c", script, capture=True)


def build_demo_database(env: dict, base_url: str, db_name: str) -> None:
    """A fresh PostgreSQL database `db_name` with the demo content, and an empty Redis db,
    for a bench run (bench/pages and bench/lighthouse build theirs the same way)."""
    import psycopg
    import redis

    print(f"Building {db_name} with the demo content ...", flush=True)
    with psycopg.connect(base_url + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo")


def wrk(binary: str, url: str, seconds: int, connections: int, cookie: str = "") -> dict:
    cmd = [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd, check=True, text=True, capture_output=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": to_ms(latency["50"]),
        "p99": to_ms(latency["99"]),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 our loopback server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer {url} within {timeout}s")


def add_articles(env: dict, count: int) -> None:
    print(f"Adding {count} articles ...", flush=True)
    shell(env, ADD_ARTICLES_SNIPPET, str(count))


def write_ceilings(env: dict) -> dict[str, str]:
    """Each page's anonymous HTML as a static file; returns {page name: its static URL}."""
    out = shell(env, CEILING_SNIPPET, __import__("json").dumps(PAGES))
    return __import__("json").loads(out.split("CEILINGS", 1)[1])


def query_counts(env: dict) -> dict:
    out = shell(env, QUERY_COUNT_SNIPPET, __import__("json").dumps(PAGES))
    return __import__("json").loads(out.split("COUNTS", 1)[1])


def measure(wrk_binary, base, ceilings, session, args) -> dict:
    """{(page, reader): [run, ...]} over interleaved rounds, each run with its round's ceiling."""
    # The member runs right after its ceiling: the machine's slow spells last seconds, and the
    # nearer the two runs, the likelier they share one.
    readers = (("static", ""), ("member", f"sessionid={session}"), ("anonymous", ""))
    for name, path in PAGES:  # warm up at full load: the page caches, renditions, connections
        for who, cookie in readers:
            url = base + (ceilings[name] if who == "static" else path)
            wrk(wrk_binary, url, 1, args.connections, cookie)
    runs: dict = {}
    for _ in range(args.repeat):
        for name, path in PAGES:
            ceiling = None
            for who, cookie in readers:
                url = base + (ceilings[name] if who == "static" else path)
                result = wrk(wrk_binary, url, args.duration, args.connections, cookie)
                if who == "static":
                    ceiling = result["rps"]
                result["ratio"] = result["rps"] / ceiling
                runs.setdefault((name, who), []).append(result)
    return runs


def median_of(runs: list[dict]) -> dict:
    def mid(key):
        values = sorted(run[key] for run in runs)
        return values[len(values) // 2]

    rps = sorted(run["rps"] for run in runs)
    return {
        "rps": mid("rps"),
        "ratio": mid("ratio"),
        "p50": mid("p50"),
        "p99": mid("p99"),
        "low": rps[0],
        "high": rps[-1],
        "non2xx": sum(run["non2xx"] for run in runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3, help="seconds per run")
    # Single runs on this shared 2-core VM swing by up to 2x, so every page runs once per
    # round, rounds interleaved, and the median of the rounds is reported with the range.
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    # gthread keeps wrk's connections open between requests (sync workers close each one);
    # two threads per process overlap a request's database waits with another's work.
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--articles", type=int, default=1000, help="added for the growth pass")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default=DB_NAME, help="the scratch database's name")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    args = parser.parse_args()

    wrk_binary = ensure_wrk()
    port = free_port()
    var = ROOT / "var" / "bench-pages"
    var.mkdir(parents=True, exist_ok=True)
    # Redis database numbers of its own so the run never touches anyone else's keys; the
    # cache is flushed before each run so that it measures this run's pages.
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"{args.postgres}/{args.db}",
        "CELERY_BROKER_URL": f"{args.redis}/13",
        "REDIS_URL": f"{args.redis}/14",
        "EMAIL_URL": "smtp://127.0.0.1:1",
        "MEDIA_ROOT": str(var / "media"),
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DEMO_MODE": "true",
        "DEBUG": "false",
    }
    build_demo_database(env, args.postgres, args.db)
    session = re.search(r"SESSION(\S+)", shell(env, SESSION_SNIPPET)).group(1)

    # Production settings, except what a loopback run cannot have: TLS (so no https redirect)
    # and real Stripe keys (no page here talks to Stripe; these only pass the start-up check).
    prod = {
        **env,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "STRIPE_SECRET_KEY": "sk_test_bench_pages",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench_pages",
    }
    prod.pop("DEMO_MODE")
    prod.pop("DEBUG")
    manage(prod, "collectstatic", "--noinput", "-v0")
    passes = []
    for articles in ("demo", f"+{args.articles}"):
        if articles != "demo":
            add_articles(env, args.articles)
        counts = query_counts(env)
        # WhiteNoise lists its files when a process starts, so the ceilings are written first
        # and gunicorn is started for each pass.
        ceilings = write_ceilings(prod)
        server = start_gunicorn(prod, port, args)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base + "/")
            runs = measure(wrk_binary, base, ceilings, session, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
        passes.append((articles, counts, runs))
        print_pass(articles, counts, runs, args)

    print()
    print("Growth (req/s and queries with the demo's articles -> with more):")
    (_, counts_a, runs_a), (label_b, counts_b, runs_b) = passes
    for name, _path in PAGES:
        for who in ("anonymous", "member"):
            a, b = median_of(runs_a[(name, who)]), median_of(runs_b[(name, who)])
            print(
                f"  {name:<18} {who:<10} {a['rps']:>6.0f} -> {b['rps']:>6.0f} req/s "
                f"(ratio {a['ratio']:.2f} -> {b['ratio']:.2f}), queries "
                f"{counts_a[f'{name}|{who}'][1]} -> {counts_b[f'{name}|{who}'][1]} ({label_b})"
            )
    return 0


def start_gunicorn(prod: dict, port: int, args) -> subprocess.Popen:
    return subprocess.Popen(
        [
            GUNICORN,
            "portal.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=prod,
    )


def print_pass(articles: str, counts: dict, runs: dict, args) -> None:
    print()
    print(
        f"bench/pages ({articles} articles): gunicorn {args.workers} {args.worker_class} workers"
        f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''}, production "
        f"settings, PostgreSQL + Redis, wrk -t2 -c{args.connections} -d{args.duration}s, "
        f"median of {args.repeat} interleaved rounds (range of req/s in brackets); ratio = "
        "req/s over the same page's HTML as a static file in the same round"
    )
    print(
        f"{'page':<18} {'reader':<10} {'req/s':>8} {'(range)':>13} {'ratio':>6} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'queries':>8} {'non-2xx':>8}"
    )
    for name, _path in PAGES:
        for who in ("static", "anonymous", "member"):
            result = median_of(runs[(name, who)])
            queries = counts[f"{name}|{who}"][1] if who != "static" else 0
            spread = f"({result['low']:.0f}-{result['high']:.0f})"
            print(
                f"{name:<18} {who:<10} {result['rps']:>8.0f} {spread:>13} "
                f"{result['ratio']:>6.2f} {result['p50']:>8.2f} {result['p99']:>8.2f} "
                f"{queries:>8} {result['non2xx']:>8}",
                flush=True,
            )
    members = [median_of(runs[(name, "member")]) for name, _path in PAGES]
    met = all(r["ratio"] >= MEMBER_RATIO and r["p99"] <= MEMBER_P99_MS for r in members)
    print(
        f"member pages: ratio {min(r['ratio'] for r in members):.2f}-"
        f"{max(r['ratio'] for r in members):.2f}, p99 {min(r['p99'] for r in members):.1f}-"
        f"{max(r['p99'] for r in members):.1f} ms; target ratio >= {MEMBER_RATIO} with p99 <= "
        f"{MEMBER_P99_MS} ms: {'met' if met else 'MISSED'}"
    )


if __name__ == "__main__":
    sys.exit(main())
