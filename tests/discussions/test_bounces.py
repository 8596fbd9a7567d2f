"""Bounces come back to the VERP address, are parsed by flufl.bounce and scored."""

import datetime as dt

import pytest
from django.utils import timezone

from discussions import services
from discussions.models import Bounce, Message, Subscription
from discussions.services.common import bounce_address

from .helpers import make_list, subscribe

pytestmark = pytest.mark.django_db


def dsn(recipient: str, status: str, action: str = "failed") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    return (
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
        f"To: bounces@lists.norm.local\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} rejected\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Subject: [Billing and Coding] Prior authorizations\r\n\r\n"
        "--B--\r\n"
    ).encode()


def bounce(mailing_list, recipient, status, action="failed"):
    inbound = services.inbound_store(
        raw=dsn(recipient, status, action),
        mail_from="",
        rcpt_to=bounce_address(mailing_list, recipient),
    )
    services.inbound_ingest(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


def yesterday(subscription):
    Subscription.objects.filter(pk=subscription.pk).update(
        last_bounce_at=timezone.now() - dt.timedelta(days=1)
    )


def test_hard_bounce_on_the_verp_address_is_scored_not_posted():
    billing = make_list()
    subscription = subscribe(billing)
    inbound = bounce(billing, subscription.user.email, "5.1.1")
    assert inbound.status == "bounce"
    assert not Message.objects.exists()
    subscription.refresh_from_db()
    assert subscription.bounce_score == 1.0
    assert Bounce.objects.get().kind == "hard"


def test_repeated_hard_bounces_disable_delivery_and_the_member_is_told_on_the_web(client):
    billing = make_list()
    subscription = subscribe(billing)
    for _day in range(3):
        bounce(billing, subscription.user.email, "5.1.1")
        yesterday(subscription)
    subscription.refresh_from_db()
    assert subscription.delivery_disabled_at is not None
    message = Message(mailing_list=billing, thread=None)
    message.mailing_list_id = billing.pk
    assert subscription.user not in services.recipients_for(message)
    client.force_login(subscription.user)
    page = client.get("/discussions/subscriptions/").content.decode()
    assert "kept bouncing" in page


def test_bounces_on_the_same_day_count_once():
    billing = make_list()
    subscription = subscribe(billing)
    for _ in range(5):
        bounce(billing, subscription.user.email, "5.1.1")
    subscription.refresh_from_db()
    assert subscription.bounce_score == 1.0
    assert subscription.delivery_disabled_at is None
    assert Bounce.objects.count() == 5  # all recorded, one scored


def test_policy_rejections_are_recorded_but_never_scored():
    billing = make_list()
    subscription = subscribe(billing)
    for _day in range(4):
        bounce(billing, subscription.user.email, "5.7.1")
        yesterday(subscription)
    subscription.refresh_from_db()
    assert subscription.bounce_score == 0
    assert subscription.delivery_disabled_at is None
    assert set(Bounce.objects.values_list("kind", flat=True)) == {"policy"}


def test_soft_bounce_scores_half():
    billing = make_list()
    subscription = subscribe(billing)
    bounce(billing, subscription.user.email, "4.2.2", action="delayed")
    subscription.refresh_from_db()
    assert subscription.bounce_score == 0.5
    assert Bounce.objects.get().kind == "soft"


def test_a_quiet_week_resets_the_score():
    billing = make_list()
    subscription = subscribe(billing)
    bounce(billing, subscription.user.email, "5.1.1")
    Subscription.objects.filter(pk=subscription.pk).update(
        last_bounce_at=timezone.now() - dt.timedelta(days=9), bounce_score=2.0
    )
    bounce(billing, subscription.user.email, "5.1.1")
    subscription.refresh_from_db()
    assert subscription.bounce_score == 1.0


def test_resubscribing_from_the_web_turns_delivery_back_on():
    billing = make_list()
    subscription = subscribe(billing, delivery_disabled_at=timezone.now(), bounce_score=3)
    services.subscription_set(user=subscription.user, mailing_list=billing, mode="every")
    subscription.refresh_from_db()
    assert subscription.delivery_disabled_at is None
    assert subscription.bounce_score == 0


@pytest.mark.parametrize(
    "verp",
    [
        # The old format, with no hash: what anyone could write.
        "billing-bounces+{local}={domain}",
        # A made-up hash.
        "billing-bounces+0123456789-{local}={domain}",
        # Another list's genuine address, sent to this list's bounce address.
        "OTHER",
    ],
)
def test_forged_bounces_never_stop_a_members_mail(verp):
    billing = make_list()
    other = make_list(slug="compliance", name="Compliance")
    subscription = subscribe(billing)
    email = subscription.user.email
    local, _, domain = email.partition("@")
    if verp == "OTHER":
        rcpt = bounce_address(other, email).replace("compliance-bounces", "billing-bounces")
    else:
        rcpt = verp.format(local=local, domain=domain) + "@lists.norm.local"
    for _day in range(3):
        inbound = services.inbound_store(raw=dsn(email, "5.1.1"), mail_from="", rcpt_to=rcpt)
        services.inbound_ingest(inbound_id=inbound.pk)
        inbound.refresh_from_db()
        assert inbound.status == "discarded"
        assert "did not make" in inbound.detail
        yesterday(subscription)
    subscription.refresh_from_db()
    assert subscription.bounce_score == 0
    assert subscription.delivery_disabled_at is None
    assert not Bounce.objects.exists()


def test_verp_addresses_carry_a_short_keyed_hash(settings):
    billing = make_list()
    address = bounce_address(billing, "Maria.Lopez@Example.org")
    local = address.split("@")[0]
    assert local.startswith("billing-bounces+")
    digest = local.split("+", 1)[1].split("-", 1)[0]
    assert len(digest) == 10
    settings.SECRET_KEY = "another-key-" + "x" * 50
    assert bounce_address(billing, "Maria.Lopez@Example.org") != address
