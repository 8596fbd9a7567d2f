"""Continuing education end to end in Chromium: door staff scan a ticket at a session's door
(a second scan says so), the attendee checks in to a break-out with the room code (a wrong
code first), evaluates both sessions once they end, downloads the certificate (its text read
with pypdf), which is mailed once by the worker, and anyone checks it at /verify/<number>/.
Every page is checked with axe-core and for overflow, at desk and phone sizes."""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from pypdf import PdfReader

from conferences import tickets
from conferences.models import Attendee, Order
from education.models import Certificate, CreditType, SessionCredit, SessionRule
from tests.conftest import screenshot, second_factor_client, wait_for
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setting():
    today = timezone.localdate()
    conference = ConferencePageFactory(
        title="NORM Annual Conference 2026", start_date=today, end_date=today, capacity=50
    )
    ticket = TicketTypeFactory(conference=conference)
    now = timezone.now()
    plenary = SessionFactory(
        conference=conference,
        title="Opening plenary: reimbursement outlook",
        kind="plenary",
        capacity=None,
        starts_at=now - timedelta(minutes=10),
        ends_at=now + timedelta(minutes=50),
        room="Grand Ballroom",
    )
    breakout = SessionFactory(
        conference=conference,
        title="Prior authorizations that stick",
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(minutes=55),
        room="Room 101",
        capacity=30,
    )
    types = {t.code: t for t in CreditType.objects.all()}
    SessionCredit.objects.create(session=plenary, credit_type=types["CRMS"], hours=Decimal("1.25"))
    SessionCredit.objects.create(session=breakout, credit_type=types["CRMS"], hours=Decimal("1"))
    SessionCredit.objects.create(session=breakout, credit_type=types["CMPM"], hours=Decimal("1"))
    SessionRule.objects.create(session=plenary, rule="check-in+evaluation", room_code="PLEN01")
    SessionRule.objects.create(session=breakout, rule="check-in+evaluation", room_code="AUTH42")
    member = MemberFactory(first_name="Maria", last_name="Lopez", email="maria@lakeshore.example")
    order = Order.objects.create(
        conference=conference,
        owner=member,
        email=member.email,
        status="paid",
        price_tier="member",
    )
    attendee = Attendee.objects.create(
        order=order, ticket_type=ticket, first_name="Maria", last_name="Lopez", email=member.email
    )
    return conference, plenary, breakout, attendee


def _sound(page, name):
    for size, label in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        assert_page_sound(page)
        screenshot(page, f"education-{name}-{label}")


def test_check_in_evaluate_certificate_verify(
    browser_page, chromium, live_server, celery_worker, smtp_server, setting
):
    conference, plenary, breakout, attendee = setting

    # Door staff, on a phone, at the plenary's door.
    door_staff = StaffFactory(is_staff=False, email="door@norm.example")
    door_staff.groups.add(Group.objects.get(name="Check-in staff"))
    door = browser_page
    door.set_viewport_size(PHONE)
    client = second_factor_client(door_staff)  # the check-in role needs the second factor
    door.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    door.goto(f"/conferences/{conference.pk}/staff/ce/sessions/{plenary.pk}/door/")
    door.get_by_label("Ticket code").fill(attendee.ticket_code)
    door.get_by_role("button", name="Check in by code").click()
    door.get_by_text("Checked in", exact=True).wait_for()
    assert "Maria Lopez" in door.content()
    _sound(door, "door")
    door.get_by_label("Ticket code").fill(attendee.ticket_code)
    door.get_by_role("button", name="Check in by code").click()
    door.get_by_text("Already checked in", exact=True).wait_for()

    # The attendee, on her phone, from her ticket link (no account needed).
    context = chromium.new_context(base_url=live_server.url, viewport=PHONE)
    me = context.new_page()
    token = tickets.attendee_token(attendee)
    me.goto(f"/conferences/t/{token}/")
    code_box = me.get_by_label("Code shown in the room")
    assert code_box.count() == 1  # the break-out; the plenary is checked in already
    code_box.fill("WRONG9")
    me.get_by_role("button", name="Check in", exact=True).click()
    me.get_by_text("That is not the code shown in the room").wait_for()
    me.get_by_label("Code shown in the room").fill("auth42")
    me.get_by_role("button", name="Check in", exact=True).click()
    me.get_by_text("You are checked in to “Prior authorizations that stick”.").wait_for()
    assert "The evaluation opens when the session ends" in me.content()
    _sound(me, "ticket-checked-in")

    # Both sessions end: the evaluations open; the rule wants them before any hours.
    for session in (plenary, breakout):
        session.starts_at = timezone.now() - timedelta(hours=2)
        session.ends_at = timezone.now() - timedelta(minutes=1)
        session.save()
    for n, session in enumerate((plenary, breakout)):
        me.goto(f"/conferences/t/{token}/")
        me.get_by_role("link", name="Evaluate this session").first.click()
        me.get_by_role("heading", name=f"Evaluate “{session.title}”").wait_for()
        if n == 0:
            me.get_by_role("button", name="Send evaluation").click()
            me.get_by_text("Choose a rating from 1 to 5.").first.wait_for()
            _sound(me, "evaluation")
        for group in me.locator("fieldset.ce-question").all():
            group.get_by_label("4").check()
        me.get_by_label("What would have made this session better?").fill("More examples.")
        me.get_by_role("button", name="Send evaluation").click()
        me.get_by_text(f"Thank you for evaluating “{session.title}”.").wait_for()

    # The certificate: requested on the ticket page, read back as text.
    me.get_by_role("button", name="Get your certificate").click()
    me.wait_for_url("**/certificate.pdf")
    certificate = Certificate.objects.get()
    pdf = context.request.get(f"/education/t/{token}/certificate.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.body())).pages)
    for expected in (
        "Maria Lopez",
        "NORM Annual Conference 2026",
        "Opening plenary: reimbursement outlook",
        "Prior authorizations that stick",
        "CRMS",
        "2.25",
        "CMPM",
        certificate.number,
        f"/verify/{certificate.number}/",
    ):
        assert expected in text, expected
    context.close()

    # Mailed once, with the PDF, by the worker.
    mails = smtp_server.wait_for(1)
    wait_for(lambda: Certificate.objects.get().mailed_at is not None)
    assert mails[0].rcpt_tos == ["maria@lakeshore.example"]
    attachments = [part.get_filename() for part in mails[0].message.iter_attachments()]
    assert attachments == [f"certificate-{certificate.number}.pdf"]

    # Anyone checks it; a forged number is not valid.
    visitor = chromium.new_context(base_url=live_server.url, viewport=DESK).new_page()
    visitor.goto(f"/verify/{certificate.number}/")
    visitor.get_by_text("Valid: certificate").wait_for()
    body = visitor.content()
    assert "Maria Lopez" in body and "CRMS: 2.25" in body and "CMPM: 1.00" in body
    _sound(visitor, "verify")
    response = visitor.goto("/verify/CE-FORGED2345/")
    assert response.status == 404
    visitor.get_by_text("Not valid").wait_for()
    assert len(smtp_server.received) == 1
