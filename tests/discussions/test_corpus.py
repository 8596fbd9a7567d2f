"""The odd-mail corpus through the real listener (LMTP, as behind Postfix) and a real worker.

Our own hand-made messages (tests/discussions/corpus/, see its README), Python's own `email`
test data where this Python ships it, and flufl.bounce's sample bounces where the installed
package ships them (6.0 does not). Nothing may crash, no person's post may be dropped
silently, and every message answered 250 must be accounted for: archived, held with a
reason, processed as a bounce, or discarded or rejected with a reason.
"""

import re
import smtplib
import sys
import sysconfig
from collections import Counter
from pathlib import Path

import flufl.bounce

from discussions.models import Bounce, Delivery, InboundMessage, Message, Thread
from discussions.services.common import bounce_address
from portal.celery import app
from tests.conftest import wait_for
from tests.factories import MemberFactory

from .helpers import authentication_results, listener, make_list, subscribe

CORPUS = Path(__file__).resolve().parent / "corpus"
MEMBERS = [
    ("Maria", "Lopez", "maria@valleyrheum.example"),
    ("Dev", "Patel", "dev.patel@northclinic.example"),
    ("Ann", "Okafor", "ann.okafor@lakesidearthritis.example"),
    ("Kim", "Nguyen", "kim.nguyen@northclinic.example"),
]
BOUNCING = "kim.nguyen@northclinic.example"
_ADDRESS = re.compile(rb"^From:[^\n]*?([\w.+-]+@[\w-]+(?:\.[\w-]+)+)", re.I | re.M)

# What some files must show once archived: the words that used to disappear or garble.
EXPECTED_TEXT = {
    "latin1-label-cp1252-bytes": "\u201cOutlook\u201d quotes \u2013 dashes",
    "windows-1252-qp": "\u201cSmart quotes\u201d and \u20ac signs",
    "boundary-mismatch": "My words survive a wrong boundary.",
    "boundary-missing-param": "My words survive a missing boundary.",
    "forward-rfc822": "Infusion codes need a new modifier from March.",
    "forward-attached-outlook": "Subject: Policy update for infusions",
    "inline-text-with-filename": "This is the note, inline.",
    "two-inline-text-parts": "Second part, after the picture.",
    "nested-ten-levels": "Deep inside ten levels.",
}


def _python_email_data() -> list[Path]:
    data = Path(sysconfig.get_path("stdlib")) / "test" / "test_email" / "data"
    return sorted(data.glob("msg_*.txt")) if data.is_dir() else []


def _flufl_samples() -> list[Path]:
    package = Path(flufl.bounce.__file__).parent
    return sorted(
        p for p in package.rglob("*") if p.suffix in {".txt", ".eml"} and "data" in p.parts
    )


def _envelope(path: Path, raw: bytes, mailing_list) -> tuple[str, str, bytes]:
    """(MAIL FROM, RCPT TO, bytes as our MTA hands them over) for one corpus file."""
    kind = path.name.split("-")[0]
    if path.parent != CORPUS:
        kind = "bounce" if "flufl" in path.parts else "foreign"
    if kind == "bounce":
        return "", bounce_address(mailing_list, BOUNCING), raw
    found = _ADDRESS.search(raw)
    sender = found.group(1).decode().lower() if found else "corpus@example.org"
    if kind in {"post", "auto", "loop"}:
        # Meant to be from a member: our MTA vouches for the From domain, as in production,
        # so what is tested here is the parsing, not the sender check.
        raw = f"Authentication-Results: {authentication_results(sender)}\r\n".encode() + raw
    mail_from = "" if b"X-Corpus-Envelope-From: <>" in raw else sender
    return mail_from, mailing_list.address, raw


def test_odd_mail_corpus_loses_nothing_and_drops_no_post(celery_worker, smtp_server, client):
    billing = make_list()
    for first, last, email in MEMBERS:
        subscribe(billing, MemberFactory(first_name=first, last_name=last, email=email))
    own = sorted(CORPUS.glob("*.eml"))
    files = own + _python_email_data() + _flufl_samples()
    assert len(own) >= 150

    accepted, refused = [], {}
    with listener(lmtp=True) as (_host, port):
        for path in files:
            mail_from, rcpt, raw = _envelope(path, path.read_bytes(), billing)
            try:
                with smtplib.LMTP("127.0.0.1", port, timeout=30) as lmtp:
                    lmtp.sendmail(mail_from, [rcpt], raw)
            except smtplib.SMTPException as exc:
                refused[path.name] = str(exc)
            else:
                accepted.append(path)
        wait_for(
            lambda: (
                InboundMessage.objects.count() == len(accepted)
                and not InboundMessage.objects.filter(status="received").exists()
            ),
            timeout=600,
            message="the worker did not ingest every stored message",
        )
    assert refused == {}

    # One message at a time, each stored before its 250: rows are in the order sent.
    rows = list(InboundMessage.objects.select_related("message").order_by("pk"))
    assert len(rows) == len(accepted) == len(files)
    by_file = {path.name: row for path, row in zip(accepted, rows, strict=True)}

    crashes = {name: row.detail[-300:] for name, row in by_file.items() if row.status == "failed"}
    assert crashes == {}
    for name, row in by_file.items():
        if row.status == "posted":
            assert row.message.status == "published", name
        elif row.status == "held":
            assert row.message.status == "held" and row.message.hold_reason, name
        elif row.status == "bounce":
            assert Bounce.objects.filter(inbound=row).exists(), name
        else:
            assert row.status in {"discarded", "rejected"} and row.detail.strip(), name
    dropped_posts = {
        name: row.detail
        for name, row in by_file.items()
        if name.startswith(("post-", "stranger-")) and row.status not in {"posted", "held"}
    }
    assert dropped_posts == {}
    for name, row in by_file.items():
        if name.startswith(("auto-", "loop-")):
            assert row.status == "discarded", name
        if name.startswith("bounce-"):
            assert row.status == "bounce" or "Away notice" in row.detail, (name, row.detail)
    by_slug = {
        name.split("-", 2)[2].removesuffix(".eml"): row
        for name, row in by_file.items()
        if name.endswith(".eml")
    }
    for slug, words in EXPECTED_TEXT.items():
        assert words in by_slug[slug].message.body_text, slug
    child = by_slug["reply-before-parent"].message
    child.refresh_from_db()
    assert child.parent == by_slug["zz-parent-after-reply"].message
    assert by_slug["reused-id-second"].status == "posted"

    # Every archive page opens.
    client.force_login(Message.objects.exclude(author=None).first().author)
    for thread in Thread.objects.all():
        assert client.get(thread.get_absolute_url()).status_code == 200, thread.subject

    _report(files, by_file)
    # Let the worker finish the fan-out and notices, so no job of this test is left in the
    # shared broker for the next test's worker to pick up.
    wait_for(_drained, timeout=300, interval=0.5, message="the worker did not finish")


def _drained() -> bool:
    if Delivery.objects.exclude(status__in=["sent", "failed"]).exists():
        return False
    if Message.objects.filter(status="published", deliveries__isnull=True).exists():
        return False
    held = Message.objects.filter(status="held")
    if held.filter(moderators_notified_at__isnull=True).exists():
        return False
    if held.filter(sender_verified=True, hold_notified_at__isnull=True).exists():
        return False
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        # Declaring is idempotent; a queue nobody used yet is created empty.
        sizes = [channel.queue_declare(queue).message_count for queue in ("default", "mail")]
    return not any(sizes)


def _report(files, by_file) -> None:
    """The outcome table (shown with `pytest -s`, or when the test fails)."""
    statuses = Counter(row.status for row in by_file.values())
    held = Counter(row.message.hold_reason for row in by_file.values() if row.status == "held")
    discarded = Counter(
        re.sub(r"<[^>]*>|#\d+", "…", row.detail.split("\n")[0])
        for row in by_file.values()
        if row.status in {"discarded", "rejected"}
    )
    kinds = Counter(Bounce.objects.values_list("kind", flat=True))
    lines = [
        "",
        f"tried {len(files)}: own {sum(1 for p in files if p.parent == CORPUS)}, "
        f"Python's email data {len(_python_email_data())}, flufl.bounce {len(_flufl_samples())}",
        f"archived (published) {statuses['posted']}",
        f"held {statuses['held']}",
        *[f"  held: {count} x {reason}" for reason, count in held.most_common()],
        f"discarded {statuses['discarded']}, rejected {statuses['rejected']}",
        *[f"  discarded/rejected: {count} x {reason}" for reason, count in discarded.most_common()],
        f"bounces {statuses['bounce']}: "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())),
        f"crashes {statuses['failed']}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
