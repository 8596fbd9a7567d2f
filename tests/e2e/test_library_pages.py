"""The resource library as a visitor and a member see it, at desk and phone size."""

import pytest

from tests.conftest import screenshot
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound
from tests.factories import MemberFactory

from .test_conferences_pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_library_for_a_visitor_and_a_member_at_desk_and_phone(browser_page, live_server, demo_site):
    page = browser_page
    for size, name in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.goto("/library/")
        assert page.get_by_role("heading", name="Resource library").is_visible()
        assert page.get_by_role("link", name="Log in to download HIPAA privacy practices notice")
        assert_page_sound(page)
        screenshot(page, f"library-visitor-{name}")

    log_in(page, live_server, MemberFactory())
    page.set_viewport_size(DESK)
    page.goto("/library/")
    page.get_by_label("Search the library").fill("methotrexate")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("heading", name="Prior authorization appeal letter").is_visible()
    assert "1 document found" in page.get_by_role("status").inner_text()
    assert_page_sound(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download Prior authorization appeal letter").click()
    assert download.value.suggested_filename == "prior-authorization-appeal-letter.docx"
    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="Templates").click()
    assert_page_sound(page)
    screenshot(page, "library-member-phone")
