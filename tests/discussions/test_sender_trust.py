"""A post goes out only when its sender is proven: our MTA's Authentication-Results header
(DMARC, or DKIM/SPF aligned with the From domain), or the member's own click on a
confirmation mailed to their account address. Forged mail makes no backscatter."""

import importlib
import re
import sys
import time

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail, signing
from django.urls import reverse

from discussions import mailauth, mailparse, services
from discussions.models import InboundMessage, Message, Thread
from discussions.services.common import CONFIRM_SALT, confirmation_token
from discussions.tasks import (
    send_confirmation,
    send_hold_notice,
    send_moderator_notice,
    send_rejection_notice,
)
from tests.factories import MemberFactory

from .helpers import authentication_results, listener, make_list, raw_mail, send

pytestmark = pytest.mark.django_db

OURS = "mx.lists.norm.local"


def ingest(raw: bytes, mailing_list, mail_from: str, peer: str = "") -> InboundMessage:
    inbound = services.inbound_store(
        raw=raw, mail_from=mail_from, rcpt_to=mailing_list.address, peer=peer
    )
    services.inbound_ingest(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


def headers_then_body(*headers: str, sender: str = "maria@example.org") -> bytes:
    lines = [*headers, f"From: Maria Lopez <{sender}>", "To: billing@lists.norm.local"]
    lines += ["Subject: Prior authorizations", "Message-ID: <q1@example.org>", "", "Hello."]
    return "\r\n".join(lines).encode()


def verdict(*headers: str, sender: str = "maria@example.org", peer: str = "") -> bool:
    msg = mailparse.parse(headers_then_body(*headers, sender=sender))
    return mailauth.sender_verdict(msg, from_email=sender, peer=peer).trusted


RECEIVED_OURS = (
    "Received: from mail-wr1-f41.google.com (mail-wr1-f41.google.com [209.85.221.41])\r\n"
    "\tby mx.lists.norm.local (Postfix) with ESMTPS id 4Xk2Lq0Zz9z9sT\r\n"
    "\tfor <billing@lists.norm.local>; Tue, 12 May 2026 09:14:03 -0500 (CDT)"
)
RECEIVED_THEIRS = (
    "Received: by mail-wr1-f41.google.com with SMTP id ffacd0b85a97d-3a4f;"
    " Tue, 12 May 2026 07:14:02 -0700 (PDT)"
)


@pytest.mark.parametrize(
    ("headers", "sender", "trusted"),
    [
        # OpenDMARC's header, on top of Postfix's Received.
        (
            [
                f"Authentication-Results: {OURS}; dmarc=pass (p=reject dis=none)"
                " header.from=example.org",
                RECEIVED_OURS,
            ],
            "maria@example.org",
            True,
        ),
        # OpenDKIM's header below Postfix's Received, folded over two lines; the signing
        # domain is a subdomain of the From domain (relaxed alignment).
        (
            [
                RECEIVED_OURS,
                f"Authentication-Results: {OURS};\r\n\tdkim=pass (2048-bit key; unprotected)"
                " header.d=mail.example.org header.i=@mail.example.org header.a=rsa-sha256"
                " header.s=s2024 header.b=QmF3Zt9x",
            ],
            "maria@example.org",
            True,
        ),
        # rspamd's one header: DKIM by an unrelated ESP, SPF aligned through a bounce subdomain.
        (
            [
                f"Authentication-Results: {OURS}; dkim=pass header.d=sendgrid.net header.s=smtpapi"
                " header.b=xY12; spf=pass (mx.lists.norm.local: domain of"
                " bounces+123@em.example.co.uk designates 167.89.1.2 as permitted sender)"
                " smtp.mailfrom=bounces+123@em.example.co.uk; dmarc=pass"
                ' reason="SPF aligned (relaxed)" header.from=example.co.uk (policy=none)'
            ],
            "maria@example.co.uk",
            True,
        ),
        # The authserv-id is case-insensitive and may carry a version.
        (
            ["Authentication-Results: MX.Lists.Norm.Local 1; DKIM=pass header.d=EXAMPLE.org"],
            "maria@example.org",
            True,
        ),
        # DKIM and SPF pass, but for someone else's domain: not aligned.
        (
            [
                f"Authentication-Results: {OURS}; dkim=pass header.d=sendgrid.net;"
                " spf=pass smtp.mailfrom=bounce@sendgrid.net; dmarc=none header.from=example.org"
            ],
            "maria@example.org",
            False,
        ),
        # A public suffix is not an organisational domain: co.uk does not vouch for example.co.uk,
        # and two sites under github.io are strangers.
        (
            [f"Authentication-Results: {OURS}; dkim=pass header.d=co.uk"],
            "maria@example.co.uk",
            False,
        ),
        (
            [f"Authentication-Results: {OURS}; dkim=pass header.d=mallory.github.io"],
            "maria@maria.github.io",
            False,
        ),
        # DMARC fail, and a DMARC pass for another From domain.
        (
            [f"Authentication-Results: {OURS}; dmarc=fail (p=none) header.from=example.org"],
            "maria@example.org",
            False,
        ),
        (
            [f"Authentication-Results: {OURS}; dmarc=pass header.from=attacker.test"],
            "maria@example.org",
            False,
        ),
        # Another MTA's verdict (Gmail's, from an earlier hop) is not ours to trust.
        (
            [
                "Authentication-Results: mx.google.com; dkim=pass header.i=@example.org"
                " header.s=20230601 header.b=Abc12345; spf=pass (google.com: domain of"
                " maria@example.org designates 1.2.3.4 as permitted sender)"
                " smtp.mailfrom=maria@example.org; dmarc=pass (p=NONE sp=NONE dis=NONE)"
                " header.from=example.org"
            ],
            "maria@example.org",
            False,
        ),
        # Microsoft's shape has no authserv-id at all; it never matches and never crashes.
        (
            [
                "Authentication-Results: spf=pass (sender IP is 40.107.1.2)"
                " smtp.mailfrom=example.org; dkim=pass (signature was verified)"
                " header.d=example.org;dmarc=pass action=none"
                " header.from=example.org;compauth=pass reason=100"
            ],
            "maria@example.org",
            False,
        ),
        # A header with our authserv-id below another hop was written before our MTA saw it.
        (
            [
                RECEIVED_OURS,
                RECEIVED_THEIRS,
                f"Authentication-Results: {OURS}; dmarc=pass header.from=example.org",
            ],
            "maria@example.org",
            False,
        ),
        # Only the topmost one counts: a forged pass lower down does not outvote our fail...
        (
            [
                f"Authentication-Results: {OURS}; dkim=fail header.d=example.org;"
                " dmarc=fail header.from=example.org",
                RECEIVED_OURS,
                f"Authentication-Results: {OURS}; dmarc=pass header.from=example.org",
            ],
            "maria@example.org",
            False,
        ),
        # ... and a forged fail lower down does not spoil our pass.
        (
            [
                f"Authentication-Results: {OURS}; dmarc=pass header.from=example.org",
                RECEIVED_OURS,
                f"Authentication-Results: {OURS}; dmarc=fail header.from=example.org",
            ],
            "maria@example.org",
            True,
        ),
        # Malformed headers with our id fail closed.
        ([f"Authentication-Results: {OURS}; dkim="], "maria@example.org", False),
        ([f"Authentication-Results: {OURS}; none"], "maria@example.org", False),
        (["Authentication-Results: ;;; ===="], "maria@example.org", False),
        ([f"Authentication-Results: {OURS}; dmarc=pass header.from=\x00\xff"], "m@x.org", False),
        ([], "maria@example.org", False),
    ],
)
def test_sender_verdict_reads_only_our_mtas_topmost_header(headers, sender, trusted):
    assert verdict(*headers, sender=sender) is trusted


def test_sender_verdict_trusts_loopback_only_where_the_setting_says(settings):
    settings.DISCUSSIONS_TRUST_LOOPBACK = False
    assert not verdict(peer="127.0.0.1")
    settings.DISCUSSIONS_TRUST_LOOPBACK = True
    assert verdict(peer="127.0.0.1")
    assert verdict(peer="::1")
    assert not verdict(peer="192.0.2.10")
    assert not verdict(peer="")


def test_without_an_authserv_id_nothing_is_trusted(settings):
    settings.DISCUSSIONS_AUTHSERV_ID = ""
    header = "Authentication-Results: ; dmarc=pass header.from=example.org"
    assert not verdict(header)


def test_loopback_trust_is_on_for_make_run_and_off_in_production(monkeypatch):
    assert importlib.import_module("portal.settings.local").DISCUSSIONS_TRUST_LOOPBACK is True
    for key, value in {
        "SECRET_KEY": "p" * 60,
        "ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/guildhall",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "EMAIL_URL": "smtp://127.0.0.1:25",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "STRIPE_SECRET_KEY": "sk_live_made-up-for-settings-test",
        "STRIPE_WEBHOOK_SECRET": "whsec_made-up-for-settings-test",
        "STRIPE_API_BASE": "https://api.stripe.com",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delitem(sys.modules, "portal.settings.production", raising=False)
    production = importlib.import_module("portal.settings.production")
    sys.modules.pop("portal.settings.production", None)
    assert production.DISCUSSIONS_TRUST_LOOPBACK is False


# --- ingest -----------------------------------------------------------------------------------


@pytest.fixture
def billing():
    return make_list()


@pytest.fixture
def member():
    return MemberFactory(first_name="Maria", last_name="Lopez")


def confirmation_link(email) -> str:
    path = reverse("discussions:confirm", kwargs={"token": "TOKEN"}).replace("TOKEN/", "")
    match = re.search(re.escape(path) + r"([^/\s\"<>]+)/", email.body)
    assert match, email.body
    return f"{path}{match.group(1)}/"


def test_unproven_post_in_a_members_name_waits_for_their_one_click_confirmation(
    billing, member, client, django_capture_on_commit_callbacks
):
    alias = EmailAddress.objects.create(
        user=member, email="maria.lopez@example.org", verified=True, primary=False
    )
    raw = raw_mail(sender=alias.email, to=billing.address, authenticated=False)
    inbound = ingest(raw, billing, alias.email)

    message = Message.objects.get()
    assert (inbound.status, message.status, message.sender_verified) == ("held", "held", False)
    assert not message.deliveries.exists()
    send_confirmation(message.pk)
    send_confirmation(message.pk)  # a retried task asks once
    send_hold_notice(message.pk)  # the confirmation is the only mail
    [asked] = mail.outbox
    assert asked.to == [member.email] != [alias.email]  # the account's address, not the From
    assert asked.message()["Auto-Submitted"] == "auto-replied"

    link = confirmation_link(asked)
    page = client.get(link)
    assert page.status_code == 200
    assert b'value="publish"' in page.content and b'value="discard"' in page.content
    assert Message.objects.get().status == "held"  # a GET (a link scanner) changes nothing

    with django_capture_on_commit_callbacks(execute=False) as queued:
        done = client.post(link, {"action": "publish"})
    assert done.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.sender_verified) == ("published", True)
    assert InboundMessage.objects.get().status == "posted"
    assert len(queued) == 1  # one fan-out

    again = client.post(link, {"action": "publish"})
    assert b"Already decided" in again.content
    assert Thread.objects.get().message_count == 1


def test_i_didnt_send_this_discards_the_post_and_mails_nobody(billing, member, client):
    ingest(
        raw_mail(sender=member.email, to=billing.address, authenticated=False),
        billing,
        member.email,
    )
    message = Message.objects.get()
    link = reverse("discussions:confirm", kwargs={"token": confirmation_token(message)})
    response = client.post(link, {"action": "discard"})
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "rejected"
    assert "did not send" in message.moderation_note
    assert InboundMessage.objects.get().status == "rejected"
    send_rejection_notice(message.pk)
    assert mail.outbox == []
    assert client.post(link, {"action": "publish"}).status_code == 200
    assert Message.objects.get().status == "rejected"


def test_confirmed_post_still_meets_the_other_checks(member, client):
    careful = make_list(slug="compliance", name="Compliance", moderate_first_posts=True)
    ingest(
        raw_mail(sender=member.email, to=careful.address, authenticated=False),
        careful,
        member.email,
    )
    message = Message.objects.get()
    link = reverse("discussions:confirm", kwargs={"token": confirmation_token(message)})
    client.post(link, {"action": "publish"})
    message.refresh_from_db()
    assert (message.status, message.hold_reason) == ("held", "First post to this list")
    send_hold_notice(message.pk)
    assert [m.to for m in mail.outbox] == [[member.email]]  # now proven, the member is told


def test_confirmation_links_are_signed_expire_after_seven_days_and_want_a_button(
    billing, member, client
):
    ingest(
        raw_mail(sender=member.email, to=billing.address, authenticated=False),
        billing,
        member.email,
    )
    message = Message.objects.get()

    class EightDaysAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 8 * 24 * 3600)

    old = EightDaysAgo(salt=CONFIRM_SALT).sign_object(message.pk)
    expired = client.post(
        reverse("discussions:confirm", kwargs={"token": old}), {"action": "publish"}
    )
    assert expired.status_code == 410
    forged = signing.dumps(message.pk, salt="another-salt")
    assert client.get(reverse("discussions:confirm", kwargs={"token": forged})).status_code == 404
    assert client.get(reverse("discussions:confirm", kwargs={"token": "x:y:z"})).status_code == 404
    link = reverse("discussions:confirm", kwargs={"token": confirmation_token(message)})
    assert client.post(link, {"action": "yes please"}).status_code == 400
    assert Message.objects.get().status == "held"


def test_mail_from_loopback_counts_only_under_local_settings(transactional_db, settings):
    """Postfix hands mail over from 127.0.0.1: under production rules that proves nothing."""
    billing = make_list()
    member = MemberFactory()
    with listener() as (_host, port):
        send(
            port,
            member.email,
            billing.address,
            raw_mail(sender=member.email, to=billing.address, authenticated=False),
        )
        settings.DISCUSSIONS_TRUST_LOOPBACK = True
        send(
            port,
            member.email,
            billing.address,
            raw_mail(
                sender=member.email, to=billing.address, subject="Second", authenticated=False
            ),
        )
    first, second = InboundMessage.objects.order_by("pk")
    assert first.peer == second.peer == "127.0.0.1"
    settings.DISCUSSIONS_TRUST_LOOPBACK = False
    services.inbound_ingest(inbound_id=first.pk)
    settings.DISCUSSIONS_TRUST_LOOPBACK = True
    services.inbound_ingest(inbound_id=second.pk)
    assert Message.objects.get(inbound=first).status == "held"
    assert Message.objects.get(inbound=second).status == "published"


def test_a_forged_lower_header_does_not_make_a_post(billing, member):
    forged = authentication_results(member.email)  # what a sender can write themselves
    raw = raw_mail(
        sender=member.email,
        to=billing.address,
        authenticated=False,
        headers={
            "Received": RECEIVED_THEIRS[len("Received: ") :],
            "Authentication-Results": forged,
        },
    )
    raw = (RECEIVED_OURS + "\r\n").encode() + raw
    ingest(raw, billing, member.email)
    assert Message.objects.get().status == "held"


def test_no_hold_or_rejection_notice_goes_to_an_unproven_sender(billing):
    ingest(
        raw_mail(sender="victim@example.net", to=billing.address, authenticated=False),
        billing,
        "victim@example.net",
    )
    message = Message.objects.get()
    assert message.status == "held"
    assert message.hold_reason.startswith("Sender not verified")
    moderator = MemberFactory()
    billing.moderators.add(moderator)
    send_hold_notice(message.pk)
    send_confirmation(message.pk)
    assert mail.outbox == []
    send_moderator_notice(message.pk)  # moderators still hear about it
    assert [m.to for m in mail.outbox] == [[moderator.email]]
    services.message_reject(message=message, moderator=moderator, note="Spam")
    send_rejection_notice(message.pk)
    assert len(mail.outbox) == 1


def test_a_proven_non_member_is_still_told_their_post_is_held(billing):
    ingest(raw_mail(sender="guest@example.net", to=billing.address), billing, "guest@example.net")
    send_hold_notice(Message.objects.get().pk)
    assert [m.to for m in mail.outbox] == [["guest@example.net"]]
    assert settings.DISCUSSIONS_AUTHSERV_ID == OURS
