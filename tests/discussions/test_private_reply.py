"""Reply privately to a post's author despite the DMARC From rewrite: the private reply
address in each copy's footer, relayed by the real listener to the author's verified address
(never shown to the replier), with a post's checks; forged and expired addresses are refused
with a 550 and a reason, and reach no one."""

import datetime as dt
import re
import smtplib

import pytest
from django.urls import reverse
from django.utils import timezone

from discussions.models import InboundMessage, MailingList, Message, PrivateReply
from discussions.services import message_post_web, private_reply_address
from tests.conftest import wait_for
from tests.factories import MemberFactory, UserFactory

from .helpers import listener, make_list, raw_mail, send, subscribe

pytestmark = pytest.mark.django_db

REPLY_ADDRESS = re.compile(r"[\w.-]+\+reply-[0-9a-f-]+@[\w.-]+")


def _sent_to(smtp_server, email):
    return [m for m in smtp_server.received if email in m.rcpt_tos]


def test_a_private_reply_by_mail_reaches_the_author_alone(celery_worker, smtp_server, settings):
    billing = make_list()
    author = MemberFactory(first_name="Maria", last_name="Lopez", email="maria@clinic.example")
    replier = MemberFactory(first_name="Dev", last_name="Patel", email="dev@practice.example")
    bystander = MemberFactory()
    for user in (author, replier, bystander):
        subscribe(billing, user)

    with listener() as (_host, port):
        send(port, author.email, billing.address, raw_mail(sender=author.email, to=billing.address))
        copies = smtp_server.wait_for(3)
        copy = next(m for m in copies if m.rcpt_tos == [replier.email]).message
        text = copy.get_body(("plain",)).get_content()
        html = copy.get_body(("html",)).get_content()
        post = Message.objects.get()
        address = private_reply_address(post)
        assert f"Reply to Maria Lopez alone: {address}" in text
        assert f"mailto:{address}" in html
        assert REPLY_ADDRESS.fullmatch(address)
        # The list still answers the list: only the footer address is private.
        assert copy["Reply-To"] == billing.address

        reply = raw_mail(
            sender=replier.email,
            to=address,
            name="Dev Patel",
            subject="Re: Prior authorizations for biologics",
            body="Happy to share our payer contact list off the list.\n",
        )
        send(port, replier.email, address, reply)
        received = smtp_server.wait_for(4)

    relayed = received[3]
    assert relayed.rcpt_tos == [author.email]
    msg = relayed.message
    assert "Dev Patel via Billing and Coding (private)" in str(msg["From"])
    assert msg["From"].addresses[0].addr_spec == f"billing-owner@{settings.LIST_DOMAIN}"
    assert msg["Reply-To"].addresses[0].addr_spec == replier.email
    assert msg["In-Reply-To"] == post.list_message_id
    assert "payer contact list" in msg.get_body(("plain",)).get_content()
    # Nobody else got it, and nothing the replier was sent names the author's address.
    assert len(_sent_to(smtp_server, bystander.email)) == 1
    assert len(_sent_to(smtp_server, replier.email)) == 1
    wait_for(lambda: PrivateReply.objects.filter(sent_at__isnull=False).count() == 1)
    item = PrivateReply.objects.get()
    assert (item.message, item.sender) == (post, replier)
    assert InboundMessage.objects.get(pk=item.inbound_id).status == "posted"
    assert Message.objects.count() == 1  # not archived, not on the list


def _refused_at_rcpt(port, sender, rcpt):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert client.mail(sender)[0] == 250
        return client.rcpt(rcpt)


def test_forged_or_expired_addresses_are_refused_at_rcpt_and_reach_no_one(
    transactional_db, smtp_server, settings
):
    billing = make_list()
    author = MemberFactory()
    replier = MemberFactory()
    subscribe(billing, replier)
    post = message_post_web(user=author, mailing_list=billing, subject="Coding", text="Hello")
    good = private_reply_address(post)
    old = message_post_web(user=author, mailing_list=billing, subject="Old one", text="Hi")
    # 92 days: an address works through its 90th day in the site's time zone, at any hour.
    Message.objects.filter(pk=old.pk).update(published_at=timezone.now() - dt.timedelta(days=92))
    old.refresh_from_db()
    expired = private_reply_address(old)
    local, _, domain = good.partition("@")
    forged = [
        local[:-1] + ("0" if local[-1] != "0" else "1") + "@" + domain,  # one digit off
        good.replace(f"-{post.pk}-", f"-{old.pk}-"),  # another post's number
        f"billing+reply-{post.pk}@{domain}",  # no hash
        f"billing+reply-99999999999999999999-1-ab@{domain}",
    ]
    with listener() as (_h, port):
        code, text = _refused_at_rcpt(port, replier.email, expired)
        assert code == 550 and b"expired" in text
        for address in forged:
            code, text = _refused_at_rcpt(port, replier.email, address)
            assert code == 550 and b"not valid" in text, address
        assert _refused_at_rcpt(port, replier.email, good)[0] == 250
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(port, replier.email, expired, raw_mail(sender=replier.email, to=expired))
    assert not InboundMessage.objects.exists()
    assert not PrivateReply.objects.exists()
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unproven", b"Could not prove"),
        ("non-member", b"may not write"),
        ("patient data", b"patient information"),
        ("stranger", b"may not write"),
    ],
)
def test_a_private_reply_failing_a_posts_checks_is_refused_at_data(
    transactional_db, smtp_server, case, reason
):
    billing = make_list()
    author = MemberFactory()
    post = message_post_web(user=author, mailing_list=billing, subject="Coding", text="Hello")
    address = private_reply_address(post)
    sender = {
        "non-member": lambda: UserFactory().email,  # lapsed: verified address, no membership
        "stranger": lambda: "someone@elsewhere.example",
    }.get(case, lambda: MemberFactory().email)()
    body = (
        "Patient Jane Doe, DOB 04/12/1957, was denied again. Ideas?\n"
        if case == "patient data"
        else "Thanks, writing to you directly.\n"
    )
    data = raw_mail(sender=sender, to=address, body=body, authenticated=case != "unproven")
    with listener() as (_h, port), pytest.raises(smtplib.SMTPDataError) as refused:
        send(port, sender, address, data)
    assert refused.value.smtp_code == 550
    assert reason in refused.value.smtp_error
    assert not InboundMessage.objects.exists()
    assert not PrivateReply.objects.exists()
    assert smtp_server.received == []


def test_reply_to_author_from_the_archive(client, celery_worker, smtp_server):
    billing = make_list()
    author = MemberFactory(first_name="Maria", last_name="Lopez")
    replier = MemberFactory()
    post = message_post_web(user=author, mailing_list=billing, subject="Coding", text="Hello")
    thread_url = post.thread.get_absolute_url()
    url = reverse(
        "discussions:reply-author",
        kwargs={"slug": "billing", "pk": post.thread_id, "message_pk": post.pk},
    )
    # Anonymous: log in; a non-member: the members-only page; the author: nobody to answer.
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    client.force_login(author)
    assert client.get(url).status_code == 404
    assert b"Reply to author" not in client.get(thread_url).content
    client.force_login(replier)
    page = client.get(thread_url)
    assert b"Reply to author" in page.content and url.encode() in page.content
    assert client.get(url).status_code == 200
    refused = client.post(
        url, {"subject": "Re: Coding", "body": "Patient Jane Doe, DOB 04/12/1957, again."}
    )
    assert refused.status_code == 400 and b"patient information" in refused.content
    assert not PrivateReply.objects.exists()
    response = client.post(url, {"subject": "Re: Coding", "body": "Call me about the payer?"})
    assert response.status_code == 302
    mail = smtp_server.wait_for(1)[0]
    assert mail.rcpt_tos == [author.email]
    assert mail.message["Reply-To"].addresses[0].addr_spec == replier.email
    assert "Call me about the payer?" in mail.message.get_body(("plain",)).get_content()
    wait_for(lambda: PrivateReply.objects.get().sent_at)
    assert len(smtp_server.received) == 1


def test_reply_to_author_on_a_committee_list_is_a_404_for_outsiders(client):
    board = make_list(name="Board", slug="board", joining=MailingList.Joining.INVITATION)
    author = MemberFactory()
    subscribe(board, author)
    post = message_post_web(user=author, mailing_list=board, subject="Budget", text="Agenda")
    url = reverse(
        "discussions:reply-author",
        kwargs={"slug": "board", "pk": post.thread_id, "message_pk": post.pk},
    )
    client.force_login(MemberFactory())
    assert client.get(url).status_code == 404
    assert client.post(url, {"subject": "x", "body": "y"}).status_code == 404
    assert not PrivateReply.objects.exists()


def test_a_private_reply_carries_allowed_attachments_only(celery_worker, smtp_server):
    from email.message import EmailMessage

    from .helpers import authentication_results, minimal_pdf

    billing = make_list()
    author = MemberFactory()
    replier = MemberFactory()
    post = message_post_web(user=author, mailing_list=billing, subject="Coding", text="Hello")
    address = private_reply_address(post)
    msg = EmailMessage()
    msg["Authentication-Results"] = authentication_results(replier.email)
    msg["From"] = replier.email
    msg["To"] = address
    msg["Subject"] = "Our payer contacts"
    msg.set_content("The list is attached.\n")
    msg.add_attachment(
        minimal_pdf("Payer contacts: Acme Health 555"),
        maintype="application",
        subtype="pdf",
        filename="payers.pdf",
    )
    msg.add_attachment(
        b"MZ\x90\x00", maintype="application", subtype="x-msdownload", filename="a.exe"
    )
    with listener() as (_h, port):
        send(port, replier.email, address, msg.as_bytes())
        mail = smtp_server.wait_for(1)[0]
    assert mail.rcpt_tos == [author.email]
    names = [part.get_filename() for part in mail.message.iter_attachments()]
    assert names == ["payers.pdf"]
    assert "left out" in mail.message.get_body(("plain",)).get_content()
