"""RFC 8058 one-click unsubscribe: POST unsubscribes without a session or CSRF token; GET
only shows a confirmation button (link scanners must not unsubscribe anyone)."""

import pytest
from django.test import Client

from discussions.models import Subscription
from discussions.services.common import unsubscribe_token

from .helpers import make_list, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    billing = make_list()
    subscription = subscribe(billing)
    token = unsubscribe_token(list_pk=billing.pk, user_pk=subscription.user_id)
    return billing, subscription, f"/discussions/unsubscribe/{token}/"


def test_get_shows_a_confirm_button_and_changes_nothing(setup):
    billing, subscription, url = setup
    response = Client().get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Unsubscribe from {billing.name}?" in page
    assert 'method="post"' in page
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_one_click_post_from_a_mail_provider_unsubscribes(setup):
    _billing, subscription, url = setup
    provider = Client(enforce_csrf_checks=True)  # no cookie, no token: like Gmail's servers
    response = provider.post(
        url,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    assert provider.post(url).status_code == 200  # a second click is harmless


def test_forged_token_is_refused(setup):
    _billing, subscription, url = setup
    assert Client().post(url.replace(":", ":x")).status_code == 404
    assert Client().post("/discussions/unsubscribe/1.999/").status_code == 404
    assert Subscription.objects.filter(pk=subscription.pk).exists()
