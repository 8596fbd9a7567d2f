"""The demo membership data that `make run` loads."""

import pytest
from django.core.management import call_command

from membership import access
from membership.models import Membership, Plan

pytestmark = pytest.mark.django_db


def test_demo_has_the_three_plans_and_active_demo_members(demo_site):
    plans = {p.slug: p for p in Plan.objects.all()}
    assert plans["individual"].yearly_price_cents == 19500
    assert (plans["practice"].yearly_price_cents, plans["practice"].seats) == (49500, 5)
    assert plans["affiliate-vendor"].yearly_price_cents == 39500
    assert not plans["affiliate-vendor"].is_voting

    emails = set(access.active_members().values_list("email", flat=True))
    assert {"member@norm.local", "practice@norm.local"} <= emails
    assert "staff@norm.local" not in emails
    admin_membership = Membership.objects.get(user__email="practice@norm.local")
    assert admin_membership.practice.name == "Riverside Rheumatology"
    assert not Plan.objects.exclude(stripe_price_id="").exists()  # no Stripe call at load time


def test_loading_the_demo_twice_changes_nothing(demo_site):
    counts = (Plan.objects.count(), Membership.objects.count())

    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert (Plan.objects.count(), Membership.objects.count()) == counts
