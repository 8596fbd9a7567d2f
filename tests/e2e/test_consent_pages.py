"""The unsubscribe page and the account page's mail choices in a browser, at desk and phone
size: axe-core finds nothing, nothing wider than the screen, and the one-click flow works."""

import pytest

from portal import consent
from portal.models import ConsentCategory
from tests.conftest import screenshot
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound
from tests.factories import MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_unsubscribe_and_mail_choices_read_on_a_desk_and_a_phone(browser_page, live_server, client):
    member = MemberFactory(email="ana@example.org")
    page = browser_page
    path = consent.unsubscribe_url(member, ConsentCategory.ASSOCIATION_NEWS).split("/mail/", 1)[1]
    page.goto(f"/mail/{path}")
    for size, suffix in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        assert_page_sound(page)
        screenshot(page, f"consent-unsubscribe-{suffix}")
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_text("You are unsubscribed").wait_for()
    assert not consent.allows(member, ConsentCategory.ASSOCIATION_NEWS)

    client.force_login(member)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto("/membership/account/")
    choices = page.locator(".consent-choices")
    assert not choices.get_by_label("Association news").is_checked()
    for size, suffix in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        assert_page_sound(page)
        screenshot(page, f"consent-account-{suffix}")
    choices.get_by_label("Association news").check()
    page.get_by_role("button", name="Save mail choices").click()
    page.get_by_text("Your mail choices are saved.").wait_for()
    assert consent.allows(member, ConsentCategory.ASSOCIATION_NEWS)
