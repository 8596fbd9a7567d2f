"""A practice manager registers herself and two staff, pays on the Stripe stand-in, everyone
gets their ticket mail (calendar file and QR code), and staff check one of them in."""

import io
from datetime import timedelta

import pytest
import segno
from django.db import OperationalError
from django.test import Client
from icalendar import Calendar

from conferences.models import Order, SentMail
from conferences.tickets import ticket_url
from tests.conftest import screenshot, second_factor_client, wait_for
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
    _at,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conference():
    conference = ConferencePageFactory(
        title="NORM Annual Conference 2027", capacity=300, hotel_details="<p>Room block.</p>"
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
    for slot, hour in ((0, 10), (1, 13)):
        for n, room in enumerate(("Salon A", "Salon B", "Salon C")):
            SessionFactory(
                conference=conference,
                title=f"Break-out {slot + 1}{'ABC'[n]}",
                starts_at=_at(day, hour),
                ends_at=_at(day, hour) + timedelta(hours=1),
                room=room,
                capacity=30,
                sort_order=n,
            )
    return conference


def quietly(read):
    try:
        return read()
    except OperationalError:
        return None


def log_in(page, live_server, user):
    """Give the browser a logged-in session (the login form itself is membership's to test)."""
    client = Client()
    if user.is_staff:
        second_factor_client(user, client)  # staff pages want the second factor
    else:
        client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_member_registers_two_staff_pays_and_staff_check_one_in(
    browser_page, chromium, live_server, celery_worker, smtp_server, stripe_standin, conference
):
    page = browser_page
    manager = MemberFactory(first_name="Maria", last_name="Lopez", email="maria@lakeshore.example")
    log_in(page, live_server, manager)

    page.goto(conference.url)
    assert page.get_by_role("heading", level=1).inner_text() == "NORM Annual Conference 2027"
    assert "$495.00" in page.locator(".ticket-card").first.inner_text()  # member price
    assert page.locator(".agenda__sessions--parallel").count() == 2
    screenshot(page, "conference-page")

    page.get_by_role("link", name="Register now").first.click()
    page.get_by_role("button", name="+ Add another attendee").click()
    page.get_by_role("button", name="+ Add another attendee").click()
    staff = [("Dev", "Patel", "dev@lakeshore.example"), ("Lena", "Kim", "lena@lakeshore.example")]
    for index, (first, last, email) in enumerate(staff, start=1):
        page.fill(f"#id_form-{index}-first_name", first)
        page.fill(f"#id_form-{index}-last_name", last)
        page.fill(f"#id_form-{index}-email", email)
    page.fill("#id_form-2-dietary_needs", "Vegetarian")
    for index, (morning, afternoon) in enumerate(((0, 1), (1, 2), (2, 0))):
        page.check(f"#id_form-{index}-slot_0_{morning}")
        page.check(f"#id_form-{index}-slot_1_{afternoon}")
    screenshot(page, "conference-register")

    page.get_by_role("button", name="Review order").click()
    assert page.get_by_test_id("review-total").inner_text() == "$1,485.00"
    screenshot(page, "conference-review")
    page.get_by_role("button", name="Pay $1,485.00").click()
    page.wait_for_url(f"{stripe_standin.url}/**")
    assert "$1,485.00" in page.content() or "1,485.00" in page.content()
    page.fill("#card", "4242 4242 4242 4242")
    page.fill("#exp", "12 / 34")
    page.fill("#cvc", "123")
    page.fill("#name", "Maria Lopez")
    screenshot(page, "conference-standin-checkout")
    page.get_by_role("button", name="Pay").click()

    page.wait_for_url(f"{live_server.url}/conferences/orders/**")
    order = Order.objects.get()
    # The webhook's worker confirms the order, then the mail task sends and records four mails.
    # In-memory SQLite shares one lock per table between threads, so reads made while a worker
    # writes may be refused for a moment; they are retried.
    wait_for(
        lambda: quietly(lambda: Order.objects.get(pk=order.pk).status) == Order.Status.PAID, 30
    )
    mails = smtp_server.wait_for(4, timeout=30)
    wait_for(lambda: quietly(SentMail.objects.count) == 4, 30, message="mail ledger incomplete")
    page.reload()
    assert page.get_by_test_id("order-status").inner_text() == "Confirmed"
    screenshot(page, "conference-order-confirmed")

    by_recipient = {m.rcpt_tos[0]: m.message for m in mails}
    assert set(by_recipient) == {
        "maria@lakeshore.example",
        "dev@lakeshore.example",
        "lena@lakeshore.example",
    }
    subjects = sorted(m.message["Subject"] for m in mails)
    assert subjects.count("Your ticket for NORM Annual Conference 2027") == 3
    assert any(s.startswith("Receipt for your") for s in subjects)
    for attendee in order.attendees.all():
        ticket_mail = next(
            m.message
            for m in mails
            if m.rcpt_tos == [attendee.email] and m.message["Subject"].startswith("Your ticket")
        )
        # The calendar file is attached; the QR code sits inline beside the HTML part.
        parts = {p.get_content_type(): p for p in ticket_mail.walk() if not p.is_multipart()}
        calendar = Calendar.from_ical(parts["text/calendar"].get_content())
        summaries = sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))
        chosen = sorted(f"{c.session.title} (break-out)" for c in attendee.choices.all())
        everyone = ["NORM Annual Conference 2027", "Opening plenary (plenary)"]
        assert summaries == sorted([*chosen, *everyone])
        # The QR image holds the ticket's address: segno draws the same code bit for bit.
        expected = io.BytesIO()
        segno.make(ticket_url(attendee), error="m").save(expected, kind="png", scale=8, border=2)
        assert parts["image/png"].get_content() == expected.getvalue()
        assert attendee.ticket_code in ticket_mail.get_body(("plain",)).get_content()

    # At the desk: staff on a phone check Dev in by his ticket code.
    dev = order.attendees.get(first_name="Dev")
    desk = chromium.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 780}, is_mobile=True
    ).new_page()
    log_in(desk, live_server, StaffFactory())
    desk.goto(f"/conferences/{conference.pk}/staff/check-in/")
    desk.fill("#checkin-code", dev.ticket_code)
    desk.get_by_role("button", name="Check in by code").click()
    assert "Checked in" in desk.locator(".checkin-result").text_content()
    assert "Dev Patel" in desk.locator(".checkin-result").text_content()
    overflow = desk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"check-in page is {overflow}px wider than a 360px phone"
    screenshot(desk, "conference-checkin-phone")

    desk.fill("#checkin-code", dev.ticket_code)
    desk.get_by_role("button", name="Check in by code").click()
    assert "Already checked in" in desk.locator(".checkin-result").text_content()
    dev.refresh_from_db()
    assert dev.checked_in_at is not None
    desk.context.close()
