"""Group registration with attendee self-service by link, at desk and phone sizes.

A practice manager registers two of her staff, reviews the total, pays on the Stripe stand-in;
one of them opens the link from her ticket mail (no account, a fresh browser), changes her
dietary needs and her break-out, and gets an updated ticket. Every page is checked with
axe-core and for overflow (page_checks.assert_page_sound) and screenshotted.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import OperationalError

from conferences.models import Attendee, Order
from tests.conftest import screenshot, wait_for
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound
from tests.e2e.test_conferences_registration import log_in
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    TicketTypeFactory,
    _at,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conference():
    conference = ConferencePageFactory(
        title="Annual Conference 2027",
        capacity=200,
        venue_address="151 E Wacker Dr, Chicago, IL 60601",
    )
    TicketTypeFactory(conference=conference, name="Full conference")
    day = conference.start_date
    SessionFactory(
        conference=conference,
        kind="plenary",
        title="Opening plenary",
        capacity=None,
        starts_at=_at(day, 8, 30),
        ends_at=_at(day, 9, 45),
        room="Ballroom",
    )
    for n, (title, room) in enumerate((("Prior authorizations", "Salon A"), ("Coding", "Salon B"))):
        SessionFactory(
            conference=conference,
            title=title,
            starts_at=_at(day, 10),
            ends_at=_at(day, 10) + timedelta(hours=1),
            room=room,
            capacity=20,
            sort_order=n,
        )
    return conference


def quietly(read):
    # In-memory SQLite refuses a read for a moment while the worker writes; it is retried.
    try:
        return read()
    except OperationalError:
        return None


def check(page, name):
    assert_page_sound(page)
    screenshot(page, name)


@pytest.mark.parametrize("size", [DESK, PHONE], ids=["desk", "phone"])
def test_group_registration_with_attendee_self_service_by_link(
    browser_page,
    chromium,
    live_server,
    celery_worker,
    smtp_server,
    stripe_standin,
    conference,
    size,
):
    tag = "desk" if size == DESK else "phone"
    page = browser_page
    page.set_viewport_size(size)
    manager = MemberFactory(first_name="Maria", last_name="Lopez", email="maria@lakeshore.example")
    log_in(page, live_server, manager)

    page.goto(conference.url)
    assert page.get_by_test_id("conference-policy").is_visible()
    check(page, f"selfservice-{tag}-1-conference")

    page.get_by_role("link", name="Register now").first.click()
    staff = [("Dev", "Patel", "dev@lakeshore.example"), ("Lena", "Kim", "lena@lakeshore.example")]
    first, last, email = staff[0]
    page.fill("#id_form-0-first_name", first)
    page.fill("#id_form-0-last_name", last)
    page.fill("#id_form-0-email", email)
    page.check("#id_form-0-slot_0_0")
    page.get_by_role("button", name="+ Add another attendee").click()
    # The reader's place is kept: the page opens at the new attendee, the cursor in it.
    page.wait_for_url("**#attendee-2")
    page.wait_for_function("document.activeElement.id === 'id_form-1-first_name'")
    first, last, email = staff[1]
    page.fill("#id_form-1-first_name", first)
    page.fill("#id_form-1-last_name", last)
    page.fill("#id_form-1-email", email)
    page.fill("#id_form-1-dietary_needs", "Vegetarian")
    # Nothing is chosen for Lena's break-out: the form says so instead of guessing.
    page.get_by_role("button", name="Review order").click()
    assert "Choose a break-out for this time slot" in page.locator("#attendee-2").inner_text()
    # The cursor goes to the choice that is missing, not back to where the reader last was.
    page.wait_for_function("document.activeElement.id === 'id_form-1-slot_0_0'")
    check(page, f"selfservice-{tag}-2-register-error")
    page.check("#id_form-1-slot_0_0")

    page.get_by_role("button", name="Review order").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Review your order"
    assert page.get_by_test_id("review-line").count() == 2
    assert page.get_by_test_id("review-total").inner_text() == "$990.00"
    check(page, f"selfservice-{tag}-3-review")
    page.get_by_role("button", name="Pay $990.00").click()

    page.wait_for_url(f"{stripe_standin.url}/**")
    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 34")
    page.fill("#cvc", "123")
    page.fill("#name", "Maria Lopez")
    screenshot(page, f"selfservice-{tag}-4-standin")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(f"{live_server.url}/conferences/orders/**")
    order = Order.objects.get()
    wait_for(
        lambda: quietly(lambda: Order.objects.get(pk=order.pk).status) == Order.Status.PAID, 30
    )
    page.reload()
    check(page, f"selfservice-{tag}-5-order")

    # Lena's mail: the link works in a browser that never logged in.
    mails = smtp_server.wait_for(3, timeout=30)
    to_lena = next(m.message for m in mails if m.rcpt_tos == ["lena@lakeshore.example"])
    text = to_lena.get_body(("plain",)).get_content()
    ticket_link = re.search(r"(https?://\S+/conferences/t/[^\s/]+/)\s", text).group(1)
    html = to_lena.get_body(("html",)).get_content()
    assert re.search(r'<img src="cid:ticket-qr-[A-Z0-9]+@guildhall"', html)

    attendee_view = chromium.new_context(base_url=live_server.url, viewport=size)
    lena = attendee_view.new_page()
    lena.set_default_timeout(15_000)
    lena.goto(urlsplit(ticket_link).path)
    assert lena.get_by_role("heading", level=1).inner_text() == "Lena Kim"
    assert lena.get_by_test_id("dietary").inner_text() == "Vegetarian"
    assert "Prior authorizations" in lena.content()
    check(lena, f"selfservice-{tag}-6-ticket")

    lena.get_by_role("link", name="Update needs or break-outs").click()
    check(lena, f"selfservice-{tag}-7-details")
    lena.fill("#id_dietary_needs", "Vegan, no nuts")
    lena.check("#id_slot_0_1")
    lena.get_by_role("button", name="Save").click()
    lena.wait_for_url(f"**{urlsplit(ticket_link).path}")
    assert "updated ticket" in lena.locator(".messages").inner_text()
    assert lena.get_by_test_id("dietary").inner_text() == "Vegan, no nuts"
    assert "Coding" in lena.content()
    check(lena, f"selfservice-{tag}-8-saved")

    record = Attendee.objects.get(email="lena@lakeshore.example")
    assert record.dietary_needs == "Vegan, no nuts"
    assert [c.session.title for c in record.choices.all()] == ["Coding"]
    # The move sends her an updated ticket with the new calendar (the fourth mail to arrive
    # after the two tickets and the receipt).
    updated = smtp_server.wait_for(4, timeout=30)
    assert [m.rcpt_tos for m in updated].count(["lena@lakeshore.example"]) == 2

    # A link with one character changed opens nothing and says so.
    lena.goto(urlsplit(ticket_link).path[:-2] + "x/")
    assert lena.get_by_role("heading", level=1).inner_text() == "This link opens no ticket"
    check(lena, f"selfservice-{tag}-9-bad-link")
    attendee_view.close()
