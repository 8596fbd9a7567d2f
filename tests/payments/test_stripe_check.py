"""The Customer Portal configuration and `manage.py stripe_check`, against the stand-in, which
starts as a new Stripe account does: no portal configuration."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments import gateway

pytestmark = pytest.mark.django_db


def _customer(key="check"):
    return gateway.customer_upsert(
        email="member@example.org", name="A Member", metadata={}, idempotency_key=f"cus-{key}"
    )


def _check(*args):
    out = StringIO()
    try:
        call_command("stripe_check", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def test_a_new_account_has_no_portal_until_the_portal_makes_its_configuration(stripe_standin):
    customer = _customer()
    with pytest.raises(gateway.GatewayError) as refused:
        gateway._call(
            gateway._client().v1.billing_portal.sessions.create, params={"customer": customer}
        )
    assert refused.value.http_status == 400
    assert "default configuration has not been created" in str(refused.value)

    url = gateway.create_portal_session(customer_id=customer, return_url="http://127.0.0.1:9/")
    again = gateway.create_portal_session(customer_id=customer, return_url="http://127.0.0.1:9/")

    assert url.startswith(f"{stripe_standin.url}/portal/bps_") and again != url
    configs = gateway._get("/v1/billing_portal/configurations")["data"]
    assert len(configs) == 1  # made once, then reused
    assert gateway.portal_configuration_problems(configs[0]) == []
    assert configs[0]["features"]["subscription_cancel"]["mode"] == "at_period_end"


def test_a_portal_configuration_staff_turned_off_is_set_right_again(stripe_standin):
    config_id = gateway.portal_configuration_ensure()
    gateway._client().v1.billing_portal.configurations.update(
        config_id, params={"active": False, "features": {"invoice_history": {"enabled": False}}}
    )

    url = gateway.create_portal_session(customer_id=_customer(), return_url="http://127.0.0.1:9/")

    assert url.startswith(stripe_standin.url)
    config = gateway._client().v1.billing_portal.configurations.retrieve(config_id)
    assert config.active and config.features.invoice_history.enabled


def test_stripe_check_reports_each_problem_and_fails(stripe_standin, settings):
    out, error = _check()

    assert error == "2 problem(s) with the Stripe account"
    assert "ok    key: works for account acct_standin in test mode" in out
    assert (
        "ok    API version: requests pin 2026-10-28.endive; Stripe answered with 2026-10-28.endive"
        in out
    )
    assert f"FAIL  webhook endpoint: none posts to {settings.SITE_URL}/stripe/webhook/" in out
    assert "FAIL  Customer Portal: no configuration made by the portal yet" in out


def test_stripe_check_passes_on_a_ready_account(stripe_standin, settings):
    stripe_standin.webhook_url = settings.SITE_URL + "/stripe/webhook/"

    out, error = _check("--fix")
    assert error is None, out
    assert "ok    webhook events: all events the portal applies are enabled" in out
    assert "All Stripe checks passed." in out
    out, error = _check()  # and without --fix, now that the configuration exists
    assert error is None, out
    assert "ok    Customer Portal: configuration bpc_" in out


def test_stripe_check_refuses_keys_that_are_not_stripes(settings):
    settings.STRIPE_SECRET_KEY = "pk_live_notasecret"
    settings.STRIPE_WEBHOOK_SECRET = "secret"

    out, error = _check()

    assert error == "2 problem(s) with the Stripe account"
    assert "FAIL  secret key" in out and "FAIL  webhook secret" in out
