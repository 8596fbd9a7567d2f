"""Odd mail from real life: each case once lost a person's words, crashed ingest or posted a
robot. Straight through the services; the listener is in test_mail_flow and the corpus test."""

import base64

import pytest
from django.contrib.auth.models import Permission

from discussions import services
from discussions.models import Attachment, Bounce, InboundMessage, Message, Thread
from discussions.services.common import bounce_address
from discussions.services.delivery import list_message_prepare
from discussions.views import split_body
from tests.conftest import second_factor_client
from tests.factories import MemberFactory

from .helpers import authentication_results, make_list, minimal_pdf, raw_mail, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing():
    return make_list()


@pytest.fixture
def member():
    return MemberFactory(first_name="Maria", last_name="Lopez", email="maria@valleyrheum.example")


def ingest(raw: bytes, mailing_list, mail_from: str = "maria@valleyrheum.example", rcpt=None):
    inbound = services.inbound_store(
        raw=raw, mail_from=mail_from, rcpt_to=rcpt or mailing_list.address
    )
    services.inbound_ingest(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


def mime(member, body: bytes, *, subject: str = "Odd one", headers: bytes = b"") -> bytes:
    """A message as our MTA hands it over (vouched for), with a hand-written MIME body."""
    return (
        (
            f"Authentication-Results: {authentication_results(member.email)}\r\n"
            f"From: Maria Lopez <{member.email}>\r\nTo: billing@lists.norm.local\r\n"
            f"Subject: {subject}\r\nMessage-ID: <odd.{abs(hash(body))}@valleyrheum.example>\r\n"
            "MIME-Version: 1.0\r\n"
        ).encode()
        + headers
        + body
    )


# --- crashes --------------------------------------------------------------------------------


def test_utf7_text_with_lone_surrogates_is_stored(billing, member):
    body = b"Content-Type: text/plain; charset=utf-7\r\n\r\nHello +2D0- team, +AKM-20 copay\r\n"
    inbound = ingest(mime(member, body), billing)
    assert inbound.status == "posted", inbound.detail
    text = Message.objects.get().body_text
    assert "Hello" in text and "\ufffd" in text and "£20 copay" in text


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("..", "attachment.pdf"), ("😀😀", "attachment.pdf"), ("😀.pdf", "attachment.pdf")],
)
def test_attachment_with_an_unusable_name_gets_a_safe_one_keeping_the_extension(
    billing, member, filename, expected, settings, tmp_path
):
    settings.STORAGES = {**settings.STORAGES, "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)},
    }}  # fmt: skip
    body = (
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
        b"Content-Type: text/plain\r\n\r\nThe form is attached.\r\n--B\r\n"
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        + f"Content-Disposition: attachment; filename*=utf-8''{_quote(filename)}\r\n\r\n".encode()
        # A real PDF: the privacy guard reads it, and holds one it cannot read.
        + base64.b64encode(minimal_pdf("Form 12"))
        + b"\r\n--B--\r\n"
    )
    inbound = ingest(mime(member, body), billing)
    assert inbound.status == "posted", inbound.detail
    assert Attachment.objects.get().filename == expected


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def test_nul_bytes_are_removed_from_what_is_stored_and_sent(billing, member):
    raw = mime(
        member,
        b"Content-Type: text/plain\r\n\r\nCoverage\x00 question\r\n",
        subject="Coverage\x00 question",
    ).replace(b"From: Maria Lopez", b"From: Maria\x00 Lopez")
    inbound = ingest(raw, billing)
    assert inbound.status == "posted", inbound.detail
    message = Message.objects.get()
    assert "\x00" not in message.body_text + message.subject + message.from_name
    assert message.subject == "Coverage question"
    assert b"\x00" not in list_message_prepare(message).data


# --- human posts silently discarded ---------------------------------------------------------


@pytest.mark.parametrize(
    "subject", ["Leave of absence policy", "Out of office coverage", "staff on vacation"]
)
def test_posts_about_absence_are_posted_not_taken_for_auto_replies(billing, member, subject):
    inbound = ingest(raw_mail(sender=member.email, to=billing.address, subject=subject), billing)
    assert inbound.status == "posted", inbound.detail
    assert Message.objects.get().status == "published"


@pytest.mark.parametrize(
    ("headers", "subject", "body"),
    [
        ({"Precedence": "list"}, "Re: another list", "Forwarding this from the AAPM list."),
        ({"Precedence": "bulk"}, "Newsletter", "Our practice newsletter."),
        ({}, "Out of Office: back Monday", "I am away."),
        ({}, "Automatic reply: Prior authorizations", "Thanks for your message."),
        (
            {"In-Reply-To": "<parent@valleyrheum.example>"},
            "Away until January 5 (Re: Prior authorizations)",
            "I will reply when I return.",
        ),
        (
            {"In-Reply-To": "<parent@valleyrheum.example>"},
            "Re: Prior authorizations",
            "Thank you for your email.\nI am out of the office until January 5 with limited "
            "access to email.",
        ),
    ],
)
def test_weak_signs_of_an_auto_reply_hold_the_post_with_the_reason(
    billing, member, headers, subject, body
):
    raw = raw_mail(
        sender=member.email, to=billing.address, subject=subject, body=body, headers=headers
    )
    inbound = ingest(raw, billing)
    assert inbound.status == "held"
    assert "Possible auto-reply" in Message.objects.get().hold_reason


def test_another_message_reusing_a_message_id_is_a_new_post(billing, member):
    first = raw_mail(sender=member.email, to=billing.address, message_id="<reused@example.org>")
    second = raw_mail(
        sender=member.email,
        to=billing.address,
        message_id="<reused@example.org>",
        subject="Staffing ratios",
        body="How many front-desk staff per provider?\n",
    )
    assert ingest(first, billing).status == "posted"
    assert ingest(second, billing).status == "posted"
    assert ingest(first, billing).status == "discarded"  # the same message again
    assert Message.objects.count() == 2


# --- text that disappears or garbles --------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'Content-Type: multipart/mixed; boundary="zzz"\r\n\r\n--yyy\r\n'
        b"Content-Type: text/plain\r\n\r\nWe switched clearinghouses in May.\r\n--yyy--\r\n",
        b"Content-Type: multipart/mixed\r\n\r\nWe switched clearinghouses in May.\r\n",
    ],
)
def test_multipart_with_a_broken_boundary_keeps_its_text(billing, member, body):
    inbound = ingest(mime(member, body), billing)
    assert inbound.status == "posted", inbound.detail
    text = Message.objects.get().body_text
    assert text.startswith("We switched clearinghouses in May.")


def test_forwarded_message_shows_its_headers_and_text_in_archive_and_copies(billing, member):
    body = (
        b'Content-Type: multipart/mixed; boundary="F"\r\n\r\n--F\r\n'
        b"Content-Type: text/plain\r\n\r\nSee the payer's note below.\r\n--F\r\n"
        b"Content-Type: message/rfc822\r\n\r\n"
        b"From: Provider Relations <relations@payer.example>\r\n"
        b"Subject: Policy update for infusions\r\nDate: Mon, 5 Jan 2026 09:00:00 -0500\r\n"
        b"Content-Type: text/plain\r\n\r\nInfusion codes need a new modifier from March.\r\n"
        b"--F--\r\n"
    )
    inbound = ingest(mime(member, body, subject="Fwd: Policy update"), billing)
    assert inbound.status == "posted", inbound.detail
    message = Message.objects.get()
    for expected in (
        "See the payer's note below.",
        "From: Provider Relations <relations@payer.example>",
        "Subject: Policy update for infusions",
        "Infusion codes need a new modifier from March.",
    ):
        assert expected in message.body_text
    copy = list_message_prepare(message).data.decode("utf-8", "replace")
    assert "Infusion codes need a new modifier" in copy


def test_inline_text_part_with_a_file_name_is_text(billing, member):
    body = (
        b"Content-Type: text/plain; charset=utf-8; name=note.txt\r\n"
        b"Content-Disposition: inline; filename=note.txt\r\n\r\n"
        b"Our denial rate dropped after we added a scrubber.\r\n"
    )
    inbound = ingest(mime(member, body), billing)
    assert inbound.status == "posted", inbound.detail
    message = Message.objects.get()
    assert message.body_text == "Our denial rate dropped after we added a scrubber."
    assert not message.attachments.exists()


def test_windows_1252_labelled_latin_1_shows_quotes_dashes_and_euro(billing, member):
    body = (
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"\x93Prior auth\x94 \x96 it cost \x80 40 and caf\xe9 time\r\n"
    )
    raw = mime(member, body, subject="=?iso-8859-1?q?=93Quoted=94_subject?=")
    inbound = ingest(raw, billing)
    assert inbound.status == "posted", inbound.detail
    message = Message.objects.get()
    assert message.body_text == "\u201cPrior auth\u201d \u2013 it cost \u20ac 40 and caf\xe9 time"
    assert message.subject == "\u201cQuoted\u201d subject"


@pytest.mark.parametrize(
    ("raw_subject", "expected"),
    [
        (b"Caf\xc3\xa9 hours", "Caf\xe9 hours"),
        (b"\x93Caf\xe9\x94 hours", "\u201cCaf\xe9\u201d hours"),
    ],
)
def test_raw_8bit_headers_read_as_utf8_then_windows_1252(billing, member, raw_subject, expected):
    raw = mime(member, b"Content-Type: text/plain\r\n\r\nhello\r\n", subject="X").replace(
        b"Subject: X", b"Subject: " + raw_subject
    )
    ingest(raw, billing)
    assert Message.objects.get().subject == expected


@pytest.mark.parametrize(
    "text",
    [
        "> Did anyone switch clearinghouses?\n> We are unhappy.\n\nWe moved to Availity.",
        "On Mon, Jan 5, 2026 at 9:00 AM Ann <a@x.org> wrote:\n> Did anyone switch?\n\n"
        "We moved to Availity.",
    ],
)
def test_a_quote_above_the_reply_is_folded(text):
    assert split_body(text) == ("We moved to Availity.", True)


# --- bounces --------------------------------------------------------------------------------


def _to_verp(billing, recipient, raw, mail_from=""):
    return ingest(raw, billing, mail_from=mail_from, rcpt=bounce_address(billing, recipient))


def test_unparseable_report_to_a_verp_address_is_a_soft_bounce(billing):
    subscription = subscribe(billing)
    raw = (
        b"From: postmaster@mail.example.net\r\nSubject: Delivery problem\r\n\r\n"
        b"We could not hand your message over. Sorry.\r\n"
    )
    inbound = _to_verp(billing, subscription.user.email, raw)
    assert inbound.status == "bounce"
    bounce = Bounce.objects.get()
    assert (bounce.kind, bounce.email) == ("soft", subscription.user.email)
    subscription.refresh_from_db()
    assert subscription.bounce_score == 0.5


def test_vacation_notice_to_a_verp_address_is_not_scored(billing):
    subscription = subscribe(billing)
    raw = (
        b"From: someone@example.net\r\nSubject: Out of Office: back January 5\r\n\r\n"
        b"I am out of the office until January 5.\r\n"
    )
    inbound = _to_verp(billing, subscription.user.email, raw, mail_from="someone@example.net")
    assert inbound.status == "discarded" and "Away notice" in inbound.detail
    assert not Bounce.objects.exists()


def test_gmail_spam_block_with_a_generic_status_is_a_policy_rejection(billing):
    subscription = subscribe(billing)
    email = subscription.user.email
    raw = (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        "Subject: Delivery Status Notification (Failure)\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="G"\r\n\r\n'
        "--G\r\nContent-Type: text/plain\r\n\r\n"
        "Your message wasn't delivered because the recipient's server blocked it.\r\n\r\n"
        "--G\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; googlemail.com\r\n\r\n"
        f"Final-Recipient: rfc822; {email}\r\nAction: failed\r\nStatus: 5.0.0\r\n"
        "Diagnostic-Code: smtp; 550-5.7.1 [209.85.220.41] Our system has detected that this\r\n"
        " message is likely unsolicited mail. 550 5.7.1 https://support.google.com/mail\r\n"
        "\r\n--G--\r\n"
    ).encode()
    assert _to_verp(billing, email, raw).status == "bounce"
    bounce = Bounce.objects.get()
    assert (bounce.kind, bounce.status_code) == ("policy", "5.7.1")
    subscription.refresh_from_db()
    assert subscription.bounce_score == 0


# --- threading ------------------------------------------------------------------------------


def test_a_reply_that_arrives_before_its_parent_is_adopted_when_the_parent_arrives(billing, member):
    reply = raw_mail(
        sender=member.email,
        to=billing.address,
        subject="Re: Prior authorizations",
        message_id="<reply@valleyrheum.example>",
        headers={"In-Reply-To": "<parent@valleyrheum.example>"},
    )
    parent = raw_mail(
        sender=member.email, to=billing.address, message_id="<parent@valleyrheum.example>"
    )
    ingest(reply, billing)
    ingest(parent, billing)
    first = Message.objects.get(message_id="<parent@valleyrheum.example>")
    second = Message.objects.get(message_id="<reply@valleyrheum.example>")
    assert second.parent == first and second.thread == first.thread
    assert Thread.objects.count() == 1
    assert first.thread.messages.count() == 2
    first.thread.refresh_from_db()
    assert first.thread.message_count == 2


def test_references_without_angle_brackets_still_thread(billing, member):
    ingest(raw_mail(sender=member.email, to=billing.address, message_id="<ref-1>"), billing)
    ingest(
        raw_mail(
            sender=member.email,
            to=billing.address,
            subject="Our experience",
            headers={"References": "ref-1"},
        ),
        billing,
    )
    assert Thread.objects.count() == 1
    assert Message.objects.filter(parent__message_id="<ref-1>").count() == 1


# --- the discarded log ----------------------------------------------------------------------


def test_discarded_log_lists_the_reason_and_releases_a_message_once(client, billing, member):
    raw = raw_mail(
        sender=member.email,
        to=billing.address,
        subject="Billing question",
        headers={"Auto-Submitted": "auto-generated"},
    )
    inbound = ingest(raw, billing)
    assert inbound.status == "discarded"
    moderator = MemberFactory()
    moderator.user_permissions.add(Permission.objects.get(codename="access_admin"))
    other = make_list(slug="hr", name="HR and Staffing")
    outsider = MemberFactory()
    outsider.user_permissions.add(Permission.objects.get(codename="access_admin"))
    other.moderators.add(outsider)
    billing.moderators.add(moderator)

    second_factor_client(outsider, client)
    assert "Billing question" not in client.get("/admin/discussions/discarded/").content.decode()
    assert client.post(f"/admin/discussions/discarded/{inbound.pk}/release/").status_code == 404

    second_factor_client(moderator, client)
    page = client.get("/admin/discussions/discarded/").content.decode()
    assert "Billing question" in page and "Auto-Submitted: auto-generated" in page
    client.post(f"/admin/discussions/discarded/{inbound.pk}/release/")
    client.post(f"/admin/discussions/discarded/{inbound.pk}/release/")
    inbound.refresh_from_db()
    assert inbound.status == "posted"
    assert "Released by" in inbound.detail
    assert Message.objects.get().status == "published"
    assert InboundMessage.objects.filter(status="discarded").count() == 0


def test_a_database_error_during_ingest_leaves_the_message_for_the_sweeper(
    billing, member, monkeypatch
):
    from django.db import OperationalError

    from discussions import mailparse

    def deadlock(msg):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(mailparse, "body", deadlock)
    inbound = ingest(raw_mail(sender=member.email, to=billing.address), billing)
    assert inbound.status == "received" and inbound.sender_notified_at is None
    monkeypatch.undo()
    services.inbound_ingest(inbound_id=inbound.pk)  # the sweeper's second try
    inbound.refresh_from_db()
    assert inbound.status == "posted"


def test_a_reply_joining_a_thread_follows_it_when_an_older_parent_adopted_it(billing, member):
    """The reply's parent was an orphan's thread; by the time the reply is published the
    orphan's thread has been merged under its real parent, and the reply goes there."""
    ingest(
        raw_mail(
            sender=member.email,
            to=billing.address,
            subject="Re: Early bird",
            message_id="<orphan@x.example>",
            headers={"In-Reply-To": "<root@x.example>"},
        ),
        billing,
    )
    ingest(
        raw_mail(sender=member.email, to=billing.address, message_id="<root@x.example>"), billing
    )
    ingest(
        raw_mail(
            sender=member.email,
            to=billing.address,
            subject="Re: Re: Early bird",
            message_id="<late@x.example>",
            headers={"In-Reply-To": "<orphan@x.example>"},
        ),
        billing,
    )
    root = Message.objects.get(message_id="<root@x.example>")
    assert set(Message.objects.values_list("thread_id", flat=True)) == {root.thread_id}
    root.thread.refresh_from_db()
    assert root.thread.message_count == 3
