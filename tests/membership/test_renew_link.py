"""Renewing from the reminder mail: the signed link, Checkout on the Stripe stand-in, no login."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from membership import services
from membership.models import Membership, Notice
from membership.services.renewal import LINK_SALT
from tests.conftest import wait_for
from tests.factories import MembershipFactory, PracticeMembershipFactory, UserFactory

LINK = re.compile(r"https?://\S+/membership/renew/(\S+)/")


def _reminder_link(smtp_server, count=1):
    mail = smtp_server.wait_for(count)[-1]
    body = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    token = LINK.search(body).group(1)
    assert f"/membership/renew/{token}/" in html
    return mail, token


@pytest.mark.django_db(transaction=True)
def test_the_reminder_links_straight_to_checkout_and_a_paid_link_says_already_renewed(
    live_server, celery_worker, smtp_server, stripe_standin
):
    member = MembershipFactory(
        user=UserFactory(email="renew@example.org", first_name="Rae"),
        current_period_end=timezone.now() + timedelta(days=20),
        auto_renew=False,
    )
    old_end = member.current_period_end
    assert services.reminders_queue() == 1
    mail, token = _reminder_link(smtp_server)
    assert mail.rcpt_tos == ["renew@example.org"]
    assert mail.message["Subject"].endswith("renews in 30 days")

    visitor = Client()  # nobody logged in
    page = visitor.get(f"/membership/renew/{token}/")
    assert page.status_code == 200
    assert "Renew your Individual membership" in page.content.decode()
    response = visitor.post(f"/membership/renew/{token}/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{stripe_standin.url}/checkout/cs_test_")
    session_id = re.search(r"(cs_test_\w+)", response["Location"]).group(1)

    stripe_standin.pay(session_id)

    member = wait_for(
        lambda: (m := Membership.objects.get(pk=member.pk)).current_period_end > old_end and m,
        message="the renewal payment was not applied",
    )
    assert member.state == "active" and member.stripe_subscription_id
    page = visitor.get(f"/membership/renew/{token}/")
    assert page.status_code == 200 and "Already renewed" in page.content.decode()
    sessions = len(stripe_standin.events("checkout.session.completed"))
    again = visitor.post(f"/membership/renew/{token}/")
    assert again.status_code == 200 and "Already renewed" in again.content.decode()
    assert len(stripe_standin.events("checkout.session.completed")) == sessions
    done = visitor.get(f"/membership/renew/{token}/done/?session_id={session_id}")
    assert done.status_code == 200 and "Thank you" in done.content.decode()


@pytest.mark.django_db
def test_a_tampered_or_expired_link_is_a_clear_4xx_and_changes_nothing(stripe_standin):
    member = MembershipFactory(current_period_end=timezone.now() + timedelta(days=7))
    token = services.renewal_token(member)
    client = Client()

    for bad in (token[:-2] + "xx", "not-a-token", token.replace(":", "."), "x" * 300):
        for method in (client.get, client.post):
            response = method(f"/membership/renew/{bad}/")
            assert response.status_code == 404
            assert "This renewal link does not work" in response.content.decode()
    assert client.get(f"/membership/renew/{token[:-2]}xx/done/").status_code == 404

    past = timezone.now() - timedelta(days=1)
    expired = signing.dumps(
        {
            "m": member.pk,
            "p": int(member.current_period_end.timestamp()),
            "x": int(past.timestamp()),
        },
        salt=LINK_SALT,
        compress=False,
    )
    response = client.post(f"/membership/renew/{expired}/")
    assert response.status_code == 410 and "has expired" in response.content.decode()
    other_salt = signing.dumps({"m": member.pk, "p": 1, "x": 4_000_000_000}, salt="other")
    assert client.get(f"/membership/renew/{other_salt}/").status_code == 404
    assert stripe_standin.events("checkout.session.completed") == []
    member.refresh_from_db()
    assert not member.stripe_customer_id  # Stripe was never asked for anything


@pytest.mark.django_db
def test_the_link_expires_at_the_end_of_the_renewal_window():
    member = MembershipFactory(current_period_end=timezone.now() + timedelta(days=7))
    token = services.renewal_token(member)
    window_end = member.current_period_end + services.grace_days()

    assert services.renewal_read(token).state == "open"
    just_before = services.renewal_read(token, now=window_end - timedelta(minutes=1))
    assert just_before.state == "open"
    assert services.renewal_read(token, now=window_end + timedelta(seconds=1)).state == "expired"


@pytest.mark.django_db
def test_a_membership_billed_by_stripe_is_sent_to_its_billing_settings():
    member = MembershipFactory(
        current_period_end=timezone.now() + timedelta(days=7),
        stripe_subscription_id="sub_123",
        stripe_subscription_status="active",
        auto_renew=False,
    )
    response = Client().post(f"/membership/renew/{services.renewal_token(member)}/")
    assert response.status_code == 200
    assert "Turn automatic renewal back on" in response.content.decode()


@pytest.mark.django_db
def test_a_practice_reminder_renews_the_practice(
    stripe_standin, django_capture_on_commit_callbacks
):
    member = PracticeMembershipFactory(current_period_end=timezone.now() + timedelta(days=5))
    with django_capture_on_commit_callbacks():
        services.reminders_queue()
    assert Notice.objects.get(membership=member).kind == Notice.Kind.RENEWAL_7
    page = Client().get(f"/membership/renew/{services.renewal_token(member)}/")
    assert f"For {member.practice.name}" in page.content.decode().replace("&#x27;", "'")
    response = Client().post(f"/membership/renew/{services.renewal_token(member)}/")
    assert response.status_code == 302
