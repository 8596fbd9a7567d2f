"""Staff tools in the Wagtail admin."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from membership.models import Membership, Payment, Plan
from tests.conftest import second_factor_client
from tests.factories import (
    MemberFactory,
    MembershipFactory,
    PlanFactory,
    PracticeMembershipFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return second_factor_client(StaffFactory(is_superuser=True))


def test_members_list_filters_by_plan_state_and_practice_state(admin):
    active = MemberFactory(email="active@example.org")
    MembershipFactory(user=UserFactory(email="lapsed@example.org"), state="lapsed")
    PracticeMembershipFactory(user=UserFactory(email="texas@example.org"), practice__state="TX")

    everyone = admin.get("/admin/members/").content.decode()
    assert all(e in everyone for e in ("active@", "lapsed@", "texas@"))

    lapsed = admin.get("/admin/members/?state=lapsed").content.decode()
    assert "lapsed@" in lapsed
    assert "active@" not in lapsed

    texas = admin.get("/admin/members/?practice__state=TX").content.decode()
    assert "texas@" in texas
    assert "active@" not in texas

    plan = Plan.objects.get(slug="practice")
    by_plan = admin.get(f"/admin/members/?plan={plan.pk}").content.decode()
    assert "texas@" in by_plan
    assert "active@" not in by_plan
    assert admin.get(f"/admin/members/?q={active.email}").status_code == 200


def test_members_csv_export(admin):
    MemberFactory(email="ada@example.org", first_name="Ada", last_name="L")

    response = admin.get("/admin/members/?export=csv")

    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[0]["Email"] == "ada@example.org"
    assert rows[0]["Plan"] == "Individual"
    assert rows[0]["State"] == "active"


def test_member_detail_shows_payments_and_history(admin):
    m = MemberFactory().memberships.get()
    Payment.objects.create(
        membership=m, stripe_invoice_id="in_x", number="NORM-7", status="paid", amount_cents=19500
    )
    m.history.create(from_state="pending", to_state="active", reason="Stripe subscription sub_1")

    page = admin.get(f"/admin/members/inspect/{m.pk}/").content.decode()

    assert "NORM-7" in page
    assert "$195.00" in page
    assert "Stripe subscription sub_1" in page


def test_staff_grant_a_complimentary_membership(admin, django_capture_on_commit_callbacks):
    guest = UserFactory(email="speaker@example.org")
    plan = PlanFactory()
    ends = (timezone.now() + timedelta(days=90)).date()

    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post(
            "/admin/membership-tools/complimentary/",
            {
                "email": guest.email,
                "plan": plan.pk,
                "ends_on": ends.isoformat(),
                "reason": "keynote",
            },
        )

    assert response.status_code == 302
    m = Membership.objects.get(user=guest)
    assert m.is_complimentary
    assert m.is_live
    assert timezone.localtime(m.access_ends_at).date() == ends


def test_staff_cancel_a_membership(admin, django_capture_on_commit_callbacks):
    m = MemberFactory().memberships.get()

    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post(f"/admin/membership-tools/{m.pk}/cancel/", {"reason": "asked to"})

    assert response.status_code == 302
    m.refresh_from_db()
    assert m.state == Membership.State.CANCELED
    assert m.history.first().reason == "asked to"


def test_dashboard_panel_counts_and_revenue(admin):
    MemberFactory()
    MemberFactory()
    MembershipFactory(state="grace")
    MembershipFactory(state="lapsed")
    m = MemberFactory().memberships.get()
    Payment.objects.create(
        membership=m,
        stripe_invoice_id="in_1",
        status="paid",
        amount_cents=49500,
        paid_at=timezone.now(),
    )

    page = admin.get("/admin/").content.decode()

    assert 'data-count="active">3<' in page
    assert 'data-count="grace">1<' in page
    assert 'data-count="lapsed">1<' in page
    assert "$495.00" in page


def test_members_without_staff_rights_cannot_reach_the_tools():
    client = Client()
    client.force_login(MemberFactory())

    assert client.get("/admin/members/").status_code == 302
    assert client.get("/admin/membership-tools/complimentary/").status_code == 302
