"""Post by email, receive by email, reply by email: the whole loop over real SMTP."""

import smtplib

import pytest

from discussions.models import Delivery, InboundMessage, Message, Subscription
from discussions.services.common import bounce_address
from tests.conftest import wait_for
from tests.factories import MemberFactory, UserFactory

from .helpers import listener, make_list, raw_mail, send, subscribe

pytestmark = pytest.mark.django_db


def test_post_by_email_reaches_every_subscriber_and_reply_threads(
    celery_worker, smtp_server, settings
):
    settings.SITE_URL = "https://portal.norm.test"
    billing = make_list()
    author = MemberFactory(first_name="Maria", last_name="Lopez")
    replier = MemberFactory(first_name="Dev", last_name="Patel")
    every = [subscribe(billing, user).user for user in (author, replier, MemberFactory())]
    subscribe(billing, mode=Subscription.Mode.DAILY)
    subscribe(billing, mode=Subscription.Mode.WEB)
    lapsed = UserFactory()  # subscribed once, membership lapsed: keeps the row, gets nothing
    subscribe(billing, lapsed)

    with listener() as (_host, port):
        send(
            port,
            author.email,
            billing.address,
            raw_mail(
                sender=author.email, to=billing.address, message_id="<question-1@example.org>"
            ),
        )
        received = smtp_server.wait_for(3)

        assert sorted(r for mail in received for r in mail.rcpt_tos) == sorted(
            u.email for u in every
        )
        copy = next(m for m in received if m.rcpt_tos == [replier.email])
        msg = copy.message
        assert msg["List-Id"] == f"Billing and Coding <billing.{settings.LIST_DOMAIN}>"
        assert msg["List-Post"] == f"<mailto:billing@{settings.LIST_DOMAIN}>"
        assert msg["List-Archive"] == "<https://portal.norm.test/discussions/billing/>"
        assert msg["List-Help"].startswith("<https://portal.norm.test/discussions/")
        assert (
            msg["List-Unsubscribe"]
            .strip()
            .startswith("<https://portal.norm.test/discussions/unsubscribe/")
        )
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["Precedence"] == "list"
        assert msg["Reply-To"] == billing.address
        assert msg["From"].addresses[0].display_name == "Maria Lopez via Billing and Coding"
        assert msg["From"].addresses[0].addr_spec == billing.address
        assert msg["Subject"] == "[Billing and Coding] Prior authorizations for biologics"
        ours = Message.objects.get()
        assert msg["Message-ID"] == ours.list_message_id != "<question-1@example.org>"
        assert copy.mail_from == bounce_address(billing, replier.email)
        assert copy.mail_from.endswith(f"-{replier.email.replace('@', '=')}@{settings.LIST_DOMAIN}")
        assert "prior authorizations for biologics" in msg.get_body(("plain",)).get_content()
        # Each copy has its own unsubscribe link.
        assert len({m.message["List-Unsubscribe"] for m in received}) == 3

        reply = raw_mail(
            sender=replier.email,
            to=billing.address,
            name="Dev Patel",
            subject=f"Re: {msg['Subject']}",
            body="We submit through the payer portal the day the script arrives.\n\n"
            "> How do you handle prior authorizations?\n",
            headers={"In-Reply-To": msg["Message-ID"], "References": msg["Message-ID"]},
        )
        send(port, replier.email, billing.address, reply)
        received = smtp_server.wait_for(6)

    answer = Message.objects.exclude(pk=ours.pk).get()
    assert answer.thread_id == ours.thread_id
    assert answer.parent_id == ours.pk
    assert answer.thread.message_count == 2
    reply_copy = received[-1].message
    assert reply_copy["In-Reply-To"] == ours.list_message_id
    assert ours.list_message_id in reply_copy["References"]
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 6
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"posted"}
    assert lapsed.email not in {r for m in received for r in m.rcpt_tos}


def test_unknown_list_is_refused_with_550(transactional_db):
    make_list()
    with listener() as (_host, port), pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(port, "someone@example.org", "nosuchlist@lists.norm.local", b"Subject: hi\n\nhi\n")
    assert refused.value.recipients["nosuchlist@lists.norm.local"][0] == 550
    assert not InboundMessage.objects.exists()


def test_oversized_message_is_refused_before_storage(transactional_db):
    billing = make_list()
    with listener(size_limit=2000) as (_h, port), pytest.raises(smtplib.SMTPException):
        send(port, "a@example.org", billing.address, b"Subject: big\n\n" + b"x" * 5000)
    assert not InboundMessage.objects.exists()


def test_lmtp_stores_the_message_and_answers_per_recipient(transactional_db, monkeypatch):
    import discussions.services.inbound as inbound

    # No worker here: keep the ingest jobs out of the shared test broker, where a later
    # test's worker would pick them up for rows that no longer exist.
    monkeypatch.setattr(inbound, "_enqueue", lambda task, pk: None)
    billing = make_list()
    other = make_list(name="HR and Staffing", slug="hr")
    with listener(lmtp=True) as (_h, port), smtplib.LMTP("127.0.0.1", port) as client:
        # smtplib's LMTP.sendmail reads a single reply, so speak the protocol by hand: after
        # DATA, RFC 2033 wants one reply per accepted recipient.
        client.ehlo()
        client.mail("a@example.org")
        assert client.rcpt(billing.address)[0] == 250
        assert client.rcpt(other.address)[0] == 250
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(b"Subject: hi\r\n\r\nhello\r\n.\r\n")
        replies = [client.getreply(), client.getreply()]
    assert [code for code, _text in replies] == [250, 250]
    assert sorted(InboundMessage.objects.values_list("rcpt_to", flat=True)) == sorted(
        [billing.address, other.address]
    )
    assert all(
        b"hello" in bytes(raw) for raw in InboundMessage.objects.values_list("raw", flat=True)
    )


def test_storage_failure_answers_451_so_the_mta_retries(transactional_db, monkeypatch):
    billing = make_list()
    import discussions.services.inbound as inbound

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(inbound.InboundMessage.objects, "create", broken)
    with listener() as (_h, port), pytest.raises(smtplib.SMTPDataError) as error:
        send(port, "a@example.org", billing.address, b"Subject: hi\n\nhello\n")
    assert error.value.smtp_code == 451


def test_everything_is_kept_even_when_nobody_is_subscribed(celery_worker):
    billing = make_list()
    member = MemberFactory()
    with listener() as (_h, port):
        send(port, member.email, billing.address, raw_mail(sender=member.email, to=billing.address))
        wait_for(lambda: Message.objects.filter(status="published").exists(), timeout=60)
