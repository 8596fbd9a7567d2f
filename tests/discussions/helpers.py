"""Helpers for the discussions tests: lists, subscribers, raw mail and a running listener."""

from __future__ import annotations

import contextlib
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.utils import timezone

from discussions.models import MailingList, Subscription
from discussions.smtp import make_controller
from tests.conftest import free_port
from tests.factories import MemberFactory


def make_list(**kwargs) -> MailingList:
    defaults = {
        "name": "Billing and Coding",
        "slug": "billing",
        "description": "Claims, codes and payers.",
        "moderate_first_posts": False,
        "archive_members_only": True,
    }
    defaults.update(kwargs)
    return MailingList.objects.create(**defaults)


def subscribe(mailing_list, user=None, mode=Subscription.Mode.EVERY, **kwargs) -> Subscription:
    user = user or MemberFactory()
    return Subscription.objects.create(user=user, mailing_list=mailing_list, mode=mode, **kwargs)


def raw_mail(
    *,
    sender: str,
    to: str,
    subject: str = "Prior authorizations for biologics",
    body: str = "How do you handle prior authorizations for biologics?\n",
    name: str = "Maria Lopez",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    authenticated: bool = True,
) -> bytes:
    """A message as our MTA hands it over: by default with its Authentication-Results header
    on top vouching for the From domain (DKIM and DMARC pass), as OpenDMARC and rspamd write."""
    msg = EmailMessage()
    if authenticated:
        msg["Authentication-Results"] = authentication_results(sender)
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = message_id or make_msgid(domain="example.org")
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    return msg.as_bytes()


def authentication_results(sender: str, verdict: str = "pass", authserv_id: str = "") -> str:
    domain = sender.rpartition("@")[2]
    return (
        f"{authserv_id or settings.DISCUSSIONS_AUTHSERV_ID}; "
        f"dkim={verdict} (2048-bit key; unprotected) header.d={domain} header.i=@{domain} "
        f"header.a=rsa-sha256 header.s=s1 header.b=AbCdEf12; "
        f"dmarc={verdict} (p=none dis=none) header.from={domain}"
    )


@contextlib.contextmanager
def listener(lmtp: bool = False, size_limit: int | None = None):
    """The real inbound server on a free loopback port; yields (host, port)."""
    port = free_port()
    controller = make_controller(host="127.0.0.1", port=port, lmtp=lmtp, size_limit=size_limit)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()


def send(port: int, sender: str, rcpt: str, data: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [rcpt], data)


def minimal_pdf(*lines: str) -> bytes:
    """A small, valid one-page PDF whose text layer holds `lines` (Helvetica, no compression),
    built by hand so tests need no PDF writer."""

    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    shown = " ".join(f"({escape(line)}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 11 Tf 72 720 Td {shown} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out
