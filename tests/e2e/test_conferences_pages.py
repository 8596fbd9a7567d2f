"""The demo conference as visitors, attendees and staff see it, on a desktop and a phone."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from conferences import services
from conferences.models import ConferencePage
from conferences.services import AttendeeSpec
from tests.conftest import screenshot, second_factor_client
from tests.factories import MemberFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user):
    client = Client()
    if user.is_staff:
        second_factor_client(user, client)  # staff pages want the second factor
    else:
        client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.fixture
def paid_order(demo_site):
    conference = ConferencePage.objects.get(slug="annual-conference")
    owner = MemberFactory(first_name="Maria", last_name="Lopez", email="maria@lakeshore.example")
    full = conference.ticket_types.get(name="Full conference")
    breakouts = list(conference.sessions.filter(kind="breakout").order_by("starts_at", "pk"))
    order = services.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(
                first_name="Maria",
                last_name="Lopez",
                email=owner.email,
                practice="Lakeshore Rheumatology",
                ticket_type_id=full.pk,
                session_ids=[breakouts[0].pk, breakouts[4].pk],
            )
        ],
    )
    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_demo")
    return order


def test_demo_conference_page_on_desktop_and_phone(browser_page, demo_site):
    page = browser_page
    page.goto("/conferences/")
    page.get_by_role("link", name="Program and registration").click()
    assert page.locator(".agenda__sessions--parallel").count() == 2
    assert page.locator(".session--plenary").count() == 3
    assert page.locator(".sponsor").count() == 3
    assert "$625.00" in page.locator(".ticket-card").first.inner_text()  # early-bird, non-member
    screenshot(page, "conference-demo-desktop")

    page.set_viewport_size({"width": 360, "height": 740})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"conference page is {overflow}px wider than a 360px phone"
    screenshot(page, "conference-demo-phone")


def test_attendee_ticket_and_staff_tools(browser_page, live_server, paid_order):
    page = browser_page
    log_in(page, live_server, paid_order.owner)
    attendee = paid_order.attendees.get()
    page.goto(f"/conferences/tickets/{attendee.ticket_code}/")
    expect(page.locator(".ticket__qr-wrap svg")).to_be_visible()
    screenshot(page, "conference-ticket")

    page.context.clear_cookies()
    log_in(page, live_server, StaffFactory())
    conference_id = paid_order.conference_id
    page.goto(f"/conferences/{conference_id}/staff/")
    assert "Lakeshore Rheumatology" in page.locator("table").first.inner_text()
    screenshot(page, "conference-staff-registrations")
    page.goto(f"/conferences/{conference_id}/staff/dashboard/")
    assert "59 / 60" in page.content()
    screenshot(page, "conference-staff-dashboard")
    page.goto(f"/conferences/{conference_id}/staff/check-in/?q=lopez")
    page.set_viewport_size({"width": 360, "height": 740})
    page.get_by_role("button", name="Check in", exact=True).click()
    assert "Maria Lopez" in page.locator(".checkin-result").text_content()
    screenshot(page, "conference-checkin-search-phone")


def test_registration_form_fits_a_phone(browser_page, live_server, demo_site):
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server, MemberFactory())
    conference = ConferencePage.objects.get(slug="annual-conference")
    page.goto(f"/conferences/{conference.pk}/register/")
    page.get_by_role("button", name="+ Add another attendee").click()

    expect(page.get_by_text("Attendee 2")).to_be_visible()
    assert page.locator(".errorlist").count() == 0  # adding a form is not submitting it
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"registration form is {overflow}px wider than a 360px phone"
    screenshot(page, "conference-register-phone")
