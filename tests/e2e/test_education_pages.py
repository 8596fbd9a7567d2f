"""Education's other pages in Chromium on the demo site, at desk and phone sizes: the
member's transcript, the staff session list, a room code, evaluation results with charts,
and a revoked certificate's check. axe-core finds nothing and nothing overflows."""

import pytest
from django.test import Client

from conferences.models import ConferencePage
from education import services
from education.models import Certificate
from tests.conftest import screenshot, second_factor_client
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _as(page, live_server, client):
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _sound(page, name):
    for size, label in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        assert_page_sound(page)
        screenshot(page, f"education-{name}-{label}")


def test_transcript_staff_pages_and_revoked_check(demo_site, browser_page, chromium, live_server):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    maria = users.get(email="member@norm.local")
    client = Client()
    client.force_login(maria)
    page = browser_page
    _as(page, live_server, client)
    page.goto("/education/transcript/")
    page.get_by_role("heading", name="Continuing-education transcript").wait_for()
    assert "ACR webinar" in page.content()
    _sound(page, "transcript")

    staff = users.get(email="staff@norm.local")
    staff.is_superuser = True
    staff.save()
    conference = ConferencePage.objects.get(slug="annual-conference-last-year")
    session = conference.sessions.filter(kind="breakout").first()
    desk = chromium.new_context(base_url=live_server.url).new_page()
    _as(desk, live_server, second_factor_client(staff))
    desk.goto(f"/conferences/{conference.pk}/staff/ce/")
    desk.get_by_role("heading", name="Continuing education").wait_for()
    _sound(desk, "staff-sessions")
    desk.goto(f"/conferences/{conference.pk}/staff/ce/sessions/{session.pk}/results/")
    desk.get_by_role("heading", name="Evaluation results").wait_for()
    assert "<svg" in desk.content()
    _sound(desk, "results")
    desk.goto(f"/conferences/{conference.pk}/staff/ce/sessions/{session.pk}/code/")
    _sound(desk, "room-code")

    certificate = Certificate.objects.filter(member=maria).first()
    services.certificate_revoke(certificate=certificate, by=staff, reason="Issued in error")
    visitor = chromium.new_context(base_url=live_server.url).new_page()
    visitor.goto(f"/verify/{certificate.number}/")
    visitor.get_by_text("Revoked: certificate").wait_for()
    _sound(visitor, "verify-revoked")
