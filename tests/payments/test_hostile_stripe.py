"""Hostile webhooks and ids: refused with a 4xx before anything is stored or sent to Stripe."""

import logging
import time

import pytest
from django.test import Client

from payments import gateway
from payments.models import StripeEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _event(**changes):
    event = {
        "id": "evt_1Hostile",
        "object": "event",
        "type": "customer.subscription.updated",
        "created": int(time.time()),
        "data": {"object": {"id": "sub_1Hostile", "object": "subscription"}},
    }
    event.update(changes)
    return event


def test_a_webhook_dated_an_hour_ahead_is_refused(stripe_standin, stripe_webhook):
    response = stripe_webhook(_event(), timestamp=int(time.time()) + 3600)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"created": "yesterday"},
        {"created": None},
        {"created": 10**30},
        {"data": "not an object"},
        {"data": {"object": ["a list"]}},
        {"data": {"object": {"id": 42}}},
        {"data": {"object": {"id": "sub_" + "x" * 200}}},
        {"type": ["customer.subscription.updated"]},
        {"type": "x" * 200},
        {"id": 7},
        {"id": "evt_../../x"},
        {"id": ""},
        {"data": {"object": {"id": "sub_1", "name": "a\x00b"}}},
    ],
)
def test_a_signed_but_malformed_event_is_a_400_and_nothing_is_stored(
    stripe_standin, stripe_webhook, changes
):
    response = stripe_webhook(_event(**changes))

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_signed_body_that_is_not_an_object_is_a_400(stripe_standin, stripe_webhook):
    assert stripe_webhook("[1, 2, 3]").status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "value", ["cs_x/../../customers", "cs_", "cus_123", "cs_a?expand=x", "cs_" + "a" * 100]
)
def test_a_hostile_session_id_never_reaches_stripe(stripe_standin, caplog, value):
    stripe_standin.log_requests = True
    with caplog.at_level(logging.INFO, logger="stripe_standin"):
        with pytest.raises(gateway.InvalidStripeId):
            gateway.retrieve_checkout_session(value)
        with pytest.raises(gateway.InvalidStripeId):
            gateway.retrieve_subscription(value)

    assert not [r for r in caplog.records if r.name == "stripe_standin"]


def test_real_ids_pass_the_shape_check():
    assert gateway.is_stripe_id("cs_test_a1B2c3", "checkout_session")
    assert gateway.is_stripe_id("sub_1NqXyZ", "subscription")
    assert gateway.is_stripe_id("guildhall_plan_3", "product")
    assert not gateway.is_stripe_id("sub_1/../x", "subscription")


def test_the_welcome_page_refuses_a_path_for_a_session_id(stripe_standin):
    client = Client()
    client.force_login(UserFactory())

    response = client.get("/membership/welcome/", {"session_id": "cs_x/../../customers"})

    assert response.status_code == 400
