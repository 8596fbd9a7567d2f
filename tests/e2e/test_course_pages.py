"""Taking the demo course in a browser: the lessons, the quiz, completion, the transcript; the
pages checked by axe-core at desk and phone size."""

import pytest

from tests.conftest import screenshot
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound
from tests.factories import MemberFactory

from .test_conferences_pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_member_takes_the_course_to_completion_at_desk_and_phone(
    browser_page, live_server, demo_site
):
    page = browser_page
    page.goto("/courses/")
    assert_page_sound(page)
    page.get_by_role("link", name="Prior authorization basics").click()
    assert page.get_by_role("heading", name="This course is for members").is_visible()
    assert_page_sound(page)

    log_in(page, live_server, MemberFactory(first_name="Dana", last_name="Whitfield"))
    page.reload()
    assert_page_sound(page)
    screenshot(page, "course-member-desk")
    for number in (1, 2, 3):
        page.get_by_role("button", name=f"Mark lesson {number} done").click()
    assert "3 of 3 lessons done" in page.locator(".course-progress").inner_text()

    page.set_viewport_size(PHONE)
    page.get_by_label("No record of step therapy").check()
    page.get_by_label("The plan's own policy").check()
    page.get_by_label("The chart notes").check()
    page.get_by_label("A reference number and a follow-up date").check()
    assert_page_sound(page)
    screenshot(page, "course-quiz-phone")
    page.get_by_role("button", name="Submit answers").click()
    assert "You passed with 100%" in page.get_by_role("status").inner_text()
    assert page.get_by_role("heading", name="Course complete").is_visible()
    assert_page_sound(page)
    screenshot(page, "course-complete-phone")

    page.set_viewport_size(DESK)
    page.get_by_role("link", name="See your transcript").click()
    assert "Prior authorization basics" in page.content()
    screenshot(page, "course-transcript-desk")
