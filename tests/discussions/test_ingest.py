"""Ingestion: loops, auto-replies, holds, threading and malformed mail, straight through the
services (the listener and worker are covered in test_mail_flow)."""

import sysconfig
from pathlib import Path

import pytest
from django.core import mail

from discussions import services
from discussions.models import Attachment, InboundMessage, Message
from discussions.tasks import send_failure_notice, send_hold_notice
from tests.factories import MemberFactory, UserFactory

from .helpers import make_list, raw_mail

pytestmark = pytest.mark.django_db


def ingest(raw: bytes, mailing_list, mail_from: str = "sender@example.org") -> InboundMessage:
    inbound = services.inbound_store(raw=raw, mail_from=mail_from, rcpt_to=mailing_list.address)
    services.inbound_ingest(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


@pytest.fixture
def billing():
    return make_list()


@pytest.fixture
def member():
    return MemberFactory(first_name="Maria", last_name="Lopez")


def test_member_post_is_published(billing, member):
    inbound = ingest(raw_mail(sender=member.email, to=billing.address), billing, member.email)
    assert inbound.status == "posted"
    message = Message.objects.get()
    assert message.status == "published"
    assert message.author == member
    assert message.thread.subject == "Prior authorizations for biologics"


@pytest.mark.parametrize(
    "headers",
    [
        {"List-Id": "Billing and Coding <billing.lists.norm.local>"},
        {"X-Loop": "billing@lists.norm.local"},
    ],
)
def test_our_own_mail_coming_back_is_discarded(billing, member, headers):
    inbound = ingest(
        raw_mail(sender=member.email, to=billing.address, headers=headers), billing, member.email
    )
    assert inbound.status == "discarded"
    assert "Loop" in inbound.detail
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("headers", "subject", "envelope"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: question", None),
        ({"Auto-Submitted": "auto-generated"}, "Report", None),
        ({"Precedence": "auto_reply"}, "Re: question", None),
        ({"X-Autoreply": "yes"}, "Thanks", None),
        ({"X-Autorespond": "Out of office"}, "Re: question", None),
        ({}, "Prior authorizations", "<>"),
    ],
)
def test_auto_replies_are_never_posted_or_answered(billing, member, headers, subject, envelope):
    raw = raw_mail(sender=member.email, to=billing.address, subject=subject, headers=headers)
    inbound = ingest(raw, billing, envelope if envelope is not None else member.email)
    assert inbound.status == "discarded"
    assert not Message.objects.exists()
    send_failure_notice(inbound.pk)  # even asked directly, nobody answers a robot
    assert mail.outbox == []


def test_non_member_post_is_held_and_sender_told_politely(billing):
    outsider = UserFactory()
    inbound = ingest(raw_mail(sender=outsider.email, to=billing.address), billing, outsider.email)
    message = Message.objects.get()
    assert (inbound.status, message.status) == ("held", "held")
    assert "not an active member" in message.hold_reason
    send_hold_notice(message.pk)
    send_hold_notice(message.pk)  # a retried task must not tell them twice
    assert len(mail.outbox) == 1
    notice = mail.outbox[0].message()
    assert mail.outbox[0].to == [outsider.email]
    assert notice["Auto-Submitted"] == "auto-replied"
    assert "waiting for a moderator" in notice["Subject"]


def test_unknown_sender_address_is_held(billing):
    ingest(raw_mail(sender="stranger@example.net", to=billing.address), billing)
    assert Message.objects.get().status == "held"


def test_first_post_is_held_when_the_list_says_so(member):
    careful = make_list(slug="compliance", name="Compliance and HIPAA", moderate_first_posts=True)
    ingest(raw_mail(sender=member.email, to=careful.address), careful, member.email)
    first = Message.objects.get()
    assert first.hold_reason == "First post to this list"
    services.message_approve(message=first, moderator=MemberFactory())
    ingest(
        raw_mail(sender=member.email, to=careful.address, subject="Second question"),
        careful,
        member.email,
    )
    assert Message.objects.get(subject="Second question").status == "published"


def test_post_with_patient_details_is_held_for_the_privacy_guard(billing, member):
    raw = raw_mail(
        sender=member.email,
        to=billing.address,
        body="Patient Jane Doe, DOB 04/12/1957, was denied again. Ideas?\n",
    )
    ingest(raw, billing, member.email)
    message = Message.objects.get()
    assert message.status == "held"
    assert "Possible patient information" in message.hold_reason
    assert "date of birth" in message.hold_reason


def test_moderators_only_list_holds_member_posts(member):
    news = make_list(slug="news", name="Announcements", posting="moderators")
    ingest(raw_mail(sender=member.email, to=news.address), news, member.email)
    assert Message.objects.get().hold_reason == "Only moderators post to this list"


def test_banned_sender_is_rejected(billing, member):
    services.sender_ban(mailing_list=billing, email=member.email, moderator=None)
    inbound = ingest(raw_mail(sender=member.email, to=billing.address), billing, member.email)
    assert inbound.status == "rejected"
    assert not Message.objects.exists()


def test_same_message_id_twice_is_posted_once(billing, member):
    raw = raw_mail(sender=member.email, to=billing.address, message_id="<once@example.org>")
    ingest(raw, billing, member.email)
    again = ingest(raw, billing, member.email)
    assert again.status == "discarded"
    assert Message.objects.count() == 1


def test_ingest_runs_once_even_if_the_task_is_delivered_twice(billing, member):
    inbound = ingest(raw_mail(sender=member.email, to=billing.address), billing, member.email)
    services.inbound_ingest(inbound_id=inbound.pk)
    assert Message.objects.count() == 1


def test_reply_threads_by_in_reply_to_and_by_original_message_id(billing, member):
    ingest(
        raw_mail(sender=member.email, to=billing.address, message_id="<q@example.org>"),
        billing,
        member.email,
    )
    question = Message.objects.get()
    other = MemberFactory()
    ingest(
        raw_mail(
            sender=other.email,
            to=billing.address,
            subject="Re: something else entirely",
            headers={"In-Reply-To": question.list_message_id},
        ),
        billing,
        other.email,
    )
    ingest(
        raw_mail(
            sender=other.email,
            to=billing.address,
            subject="Re: x",
            headers={"References": "<unknown@example.org> <q@example.org>"},
        ),
        billing,
        other.email,
    )
    assert Message.objects.filter(thread=question.thread).count() == 3


def test_reply_without_headers_falls_back_to_the_subject(billing, member):
    ingest(raw_mail(sender=member.email, to=billing.address), billing, member.email)
    question = Message.objects.get()
    ingest(
        raw_mail(
            sender=member.email,
            to=billing.address,
            subject="RE: [Billing and Coding] Prior authorizations for biologics",
        ),
        billing,
        member.email,
    )
    ingest(raw_mail(sender=member.email, to=billing.address), billing, member.email)
    reply, fresh = Message.objects.exclude(pk=question.pk).order_by("pk")
    assert reply.thread_id == question.thread_id
    assert fresh.thread_id != question.thread_id  # not a reply: a new thread


def test_reply_to_a_digest_is_held_rather_than_starting_a_junk_thread(billing, member):
    raw = raw_mail(
        sender=member.email,
        to=billing.address,
        subject="Re: [Billing and Coding] Daily digest, May 1, 2026 (3 messages)",
        headers={"In-Reply-To": "<digest.abc@lists.norm.local>"},
    )
    ingest(raw, billing, member.email)
    message = Message.objects.get()
    assert message.status == "held"
    assert "digest" in message.hold_reason
    assert message.thread is None


def test_html_only_mail_is_sanitized_and_given_a_text_version(billing, member):
    raw = (
        f"From: Maria <{member.email}>\r\nTo: {billing.address}\r\nSubject: Html\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Hello <b>all</b></p><script>alert(1)</script><img src=x onerror=alert(2)>\r\n"
    ).encode()
    ingest(raw, billing, member.email)
    message = Message.objects.get()
    assert "<script" not in message.body_html and "onerror" not in message.body_html
    assert "<b>all</b>" in message.body_html
    assert message.body_text.startswith("Hello all")


def test_attachments_are_kept_within_type_and_size_limits(billing, member, settings, tmp_path):
    from email.message import EmailMessage

    settings.MEDIA_ROOT = tmp_path
    msg = EmailMessage()
    msg["From"] = member.email
    msg["To"] = billing.address
    msg["Subject"] = "Forms"
    msg.set_content("Our prior auth form is attached.")
    msg.add_attachment(b"%PDF-1.4 form", maintype="application", subtype="pdf", filename="pa.pdf")
    msg.add_attachment(b"MZ...", maintype="application", subtype="x-msdownload", filename="x.exe")
    ingest(msg.as_bytes(), billing, member.email)
    message = Message.objects.get()
    assert list(Attachment.objects.values_list("filename", "content_type")) == [
        ("pa.pdf", "application/pdf")
    ]
    assert "x.exe" in message.body_text  # the reader learns something was left out


@pytest.mark.parametrize(
    "raw",
    [
        # Unknown charset, no Message-ID, no Date.
        b"From: a@example.org\r\nSubject: =?x-unknown?q?hi?=\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nbody \xff\xfe\r\n",
        # Multipart that never closes its boundary.
        b"From: a@example.org\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="zzz"\r\n\r\n--zzz\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n",
        # A huge header and invalid base64.
        b"From: a@example.org\r\nX-Huge: " + b"x" * 200_000 + b"\r\nSubject: big\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",
        # Not even headers.
        b"\x00\x01\x02 garbage",
    ],
)
def test_malformed_mail_is_kept_and_never_crashes_ingest(billing, raw):
    inbound = ingest(raw, billing)
    assert inbound.status in {"held", "posted", "discarded", "rejected", "failed"}
    assert bytes(InboundMessage.objects.get(pk=inbound.pk).raw) == raw


def _corpus_files():
    data = Path(sysconfig.get_path("stdlib")) / "test" / "test_email" / "data"
    return sorted(p for p in data.glob("msg_*.txt")) if data.is_dir() else []


@pytest.mark.skipif(not _corpus_files(), reason="this Python ships without Lib/test/test_email")
def test_pythons_own_email_test_corpus_goes_through_ingest_with_nothing_lost(billing):
    files = _corpus_files()
    for path in files:
        ingest(path.read_bytes(), billing)
    rows = InboundMessage.objects.all()
    assert rows.count() == len(files)
    assert not rows.filter(status="received").exists()
    # "failed" means ingest hit an exception; the corpus must go through without one.
    assert list(rows.filter(status="failed").values_list("detail", flat=True)) == []
    stored = sorted(bytes(r) for r in rows.values_list("raw", flat=True))
    assert stored == sorted(p.read_bytes() for p in files)
    # Whatever was not discarded on purpose is in the archive (held: the senders are strangers).
    kept = rows.exclude(status__in=["discarded", "rejected", "failed"]).count()
    assert Message.objects.count() == kept > len(files) // 2


def test_message_that_cannot_be_processed_is_kept_and_the_sender_gets_a_clear_bounce(
    billing, member, monkeypatch
):
    from discussions import mailparse

    def explode(msg):
        raise ValueError("unparseable MIME")

    monkeypatch.setattr(mailparse, "body", explode)
    raw = raw_mail(sender=member.email, to=billing.address, subject="Scanned form")
    inbound = ingest(raw, billing, member.email)
    assert inbound.status == "failed"
    assert "unparseable MIME" in inbound.detail
    assert bytes(inbound.raw) == raw
    send_failure_notice(inbound.pk)
    send_failure_notice(inbound.pk)
    [notice] = mail.outbox
    assert notice.to == [member.email]
    assert "could not be posted" in notice.subject
    assert "Scanned form" in notice.body
