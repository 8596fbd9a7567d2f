"""Member pages, joining, billing, the directory and the staff two-factor rule."""

import pytest
from django.test import Client

from membership.models import MemberProfile, Membership, Payment
from tests.conftest import second_factor_client
from tests.factories import (
    MemberFactory,
    PlanFactory,
    PracticePlanFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_overview_and_join_list_the_active_plans():
    PlanFactory()
    PracticePlanFactory()
    PlanFactory(name="Retired", slug="retired", is_active=False)

    for url in ("/membership/", "/membership/join/"):
        page = Client().get(url).content.decode()
        assert "Individual" in page
        assert "$495" in page
        assert "Retired" not in page


def test_choosing_a_plan_as_a_visitor_leads_to_sign_up_and_back():
    PlanFactory()

    response = Client().get("/membership/join/individual/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/signup/?next=%2Fmembership%2Fjoin%2Findividual%2F"


def test_joining_opens_stripe_checkout(stripe_standin):
    user = UserFactory()
    PlanFactory()

    response = logged_in(user).post("/membership/join/individual/")

    assert response.status_code == 302
    assert response["Location"].startswith(f"{stripe_standin.url}/checkout/cs_test_")
    m = Membership.objects.get(user=user)
    assert m.state == Membership.State.PENDING
    assert m.stripe_customer_id.startswith("cus_")
    assert m.plan.stripe_price_id.startswith("price_")


def test_practice_plan_asks_for_the_practice_name(stripe_standin):
    user = UserFactory()
    PracticePlanFactory()
    client = logged_in(user)

    page = client.post("/membership/join/practice/", {"practice_name": ""})
    assert page.status_code == 200
    assert "This field is required" in page.content.decode()

    response = client.post(
        "/membership/join/practice/",
        {
            "practice_name": "Lakeshore Rheumatology",
            "practice_city": "Chicago",
            "practice_state": "IL",
        },
    )
    assert response.status_code == 302
    m = Membership.objects.get(user=user)
    assert m.practice.name == "Lakeshore Rheumatology"
    assert m.seats.get().user == user


def test_checkout_refused_while_stripe_is_down_shows_a_message(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    PlanFactory()

    response = logged_in(UserFactory()).post("/membership/join/individual/", follow=True)

    assert "could not reach our payment provider" in response.content.decode()


def test_account_page_shows_status_plan_and_receipts():
    member = MemberFactory()
    m = member.memberships.get()
    Payment.objects.create(
        membership=m,
        stripe_invoice_id="in_1",
        number="NORM-0001",
        status=Payment.Status.PAID,
        amount_cents=19500,
        hosted_invoice_url="https://invoice.example/in_1",
    )

    page = logged_in(member).get("/membership/account/").content.decode()

    assert "Active member" in page
    assert "Individual" in page
    assert "NORM-0001" in page
    assert "$195.00" in page
    assert "https://invoice.example/in_1" in page


def test_account_page_for_someone_without_membership():
    page = logged_in(UserFactory()).get("/membership/account/").content.decode()

    assert "Not a member yet" in page
    assert "/membership/join/" in page


def test_billing_portal_opens_stripes_customer_portal(stripe_standin):
    from payments import gateway

    member = MemberFactory()
    customer = gateway.customer_upsert(
        email=member.email, name="x", metadata={}, idempotency_key=f"test-{member.pk}"
    )
    Membership.objects.filter(user=member).update(stripe_customer_id=customer)

    response = logged_in(member).post("/membership/account/billing-portal/")

    assert response.status_code == 302
    assert response["Location"].startswith(f"{stripe_standin.url}/portal/bps_")


def test_status_json():
    assert logged_in(MemberFactory()).get("/membership/account/status.json").json() == {
        "active": True
    }
    assert logged_in(UserFactory()).get("/membership/account/status.json").json() == {
        "active": False
    }


def _listed(first, last, **profile):
    member = MemberFactory(first_name=first, last_name=last)
    MemberProfile.objects.create(user=member, in_directory=True, **profile)
    return member


def test_directory_is_for_active_members_and_lists_only_opted_in_active_members():
    viewer = MemberFactory()
    _listed("Ana", "Diaz", practice_name="Desert Sun Rheumatology", state="AZ")
    _listed("Ben", "Cole", practice_name="Lakeshore Rheumatology", state="IL")
    hidden = MemberFactory(first_name="Hal", last_name="Hidden")
    MemberProfile.objects.create(user=hidden, in_directory=False)
    lapsed = _listed("Lou", "Lapsed")
    Membership.objects.filter(user=lapsed).update(state=Membership.State.LAPSED)

    assert logged_in(UserFactory()).get("/membership/directory/").status_code == 403
    assert Client().get("/membership/directory/").status_code == 302
    page = logged_in(viewer).get("/membership/directory/").content.decode()

    assert "Ana Diaz" in page
    assert "Ben Cole" in page
    assert "Hal Hidden" not in page
    assert "Lou Lapsed" not in page
    client = logged_in(viewer)
    assert "Ben Cole" not in client.get("/membership/directory/?q=desert").content.decode()
    assert "Ana Diaz" in client.get("/membership/directory/?q=desert").content.decode()
    by_state = client.get("/membership/directory/?state=IL").content.decode()
    assert "Ben Cole" in by_state
    assert "Ana Diaz" not in by_state


def test_directory_query_count_does_not_grow_with_the_list(django_assert_max_num_queries):
    viewer = MemberFactory()
    client = logged_in(viewer)
    _listed("One", "Person")
    client.get("/membership/directory/")  # warm caches (site settings, session)
    with django_assert_max_num_queries(12) as few:
        client.get("/membership/directory/")
    for i in range(15):
        _listed(f"Extra{i}", "Person")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/membership/directory/")
    assert "Extra14 Person" in page.content.decode()


def test_profile_edit_saves_name_and_listing():
    member = MemberFactory()

    response = logged_in(member).post(
        "/membership/account/profile/",
        {
            "first_name": "Maria",
            "last_name": "Lopez",
            "job_title": "Practice Administrator",
            "practice_name": "Blue Ridge Arthritis",
            "city": "Asheville",
            "state": "NC",
            "phone": "555-0100",
            "specialty": "Rheumatology",
            "in_directory": "on",
        },
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.get_full_name() == "Maria Lopez"
    assert member.member_profile.in_directory


def test_account_delete_needs_the_password(django_capture_on_commit_callbacks):
    from tests.factories import TEST_PASSWORD

    member = MemberFactory()
    client = logged_in(member)
    assert client.post("/membership/account/delete/", {"password": "nope"}).status_code == 200

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/membership/account/delete/", {"password": TEST_PASSWORD})

    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.is_active
    assert client.get("/membership/account/").status_code == 302  # logged out


def test_webhook_endpoint_takes_only_posts():
    assert Client().get("/stripe/webhook/").status_code == 405


def test_staff_without_two_factor_are_sent_to_set_it_up():
    staff = StaffFactory(totp=False)

    response = logged_in(staff).get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_staff_with_two_factor_reach_the_admin():
    client = second_factor_client(StaffFactory(is_superuser=True))
    assert client.get("/admin/").status_code == 200


def test_admin_login_forms_go_through_allauth():
    response = Client().get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_staff_login_asks_for_the_second_factor():
    from tests.factories import TEST_PASSWORD, totp_code

    staff = StaffFactory(is_superuser=True)
    client = Client()
    response = client.post("/accounts/login/", {"login": staff.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302  # not logged in yet

    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
