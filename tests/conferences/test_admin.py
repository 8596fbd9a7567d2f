"""The Wagtail admin side: the conference menu's listings, the dashboard panel, the demo."""

import pytest
from django.core.management import call_command

from conferences import services
from conferences.models import ConferencePage, Session, TicketType
from conferences.services import AttendeeSpec
from tests.conftest import second_factor_client
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    return second_factor_client(StaffFactory(is_superuser=True), client)


def test_demo_conference_is_loaded_once_with_the_full_programme(demo_site):
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    # This year's conference and last year's (the continuing-education demo), each once.
    assert ConferencePage.objects.count() == 2
    conference = ConferencePage.objects.latest("start_date")
    sessions = conference.sessions.all()
    assert sessions.filter(kind=Session.Kind.PLENARY).count() == 3
    breakout_slots = {s.starts_at for s in sessions.filter(kind=Session.Kind.BREAKOUT)}
    assert len(breakout_slots) == 2
    assert sessions.filter(kind=Session.Kind.BREAKOUT).count() == 6
    assert conference.sponsors.count() == 3
    assert conference.speakers.count() >= 3
    assert (conference.end_date - conference.start_date).days == 1
    full = TicketType.objects.get(conference=conference, name="Full conference")
    assert full.member_price_cents < full.non_member_price_cents
    assert full.early_bird_member_price_cents < full.member_price_cents


def test_conference_admin_listings_render(staff_client):
    conference = ConferencePageFactory()
    TicketTypeFactory(conference=conference)
    SessionFactory(conference=conference)
    for name in ("ticket_types", "sessions", "speakers", "sponsors", "discount_codes", "orders"):
        assert staff_client.get(f"/admin/{name}/").status_code == 200, name
    assert staff_client.get("/admin/waitlist/").status_code == 200


def test_admin_home_shows_the_registration_panel(staff_client, demo_site):
    conference = ConferencePage.objects.latest("start_date")
    ticket = conference.ticket_types.get(name="Full conference")
    order = services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[
            AttendeeSpec(first_name="A", last_name="B", email="a@x.org", ticket_type_id=ticket.pk)
        ],
    )
    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_1")

    html = staff_client.get("/admin/").content.decode()

    assert f"{conference.title}: registrations" in html
    assert "1</strong> of 400 seats taken" in html
    assert "$425.00" in html  # early-bird member price
