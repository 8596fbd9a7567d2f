"""The attendee's signed link: their ticket, QR code, calendar file and self-service page,
with no account; revoked by a reissue or a cancellation; staff scanning it land on check-in."""

import email
import email.policy
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from conferences import services, tasks, tickets
from conferences.attendee_mail import send_order_closure_mail
from conferences.models import BreakoutChoice, Refund, SentMail
from conferences.services import AttendeeSpec
from tests.conftest import second_factor_client
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
    _at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def conference():
    conference = ConferencePageFactory(capacity=50, venue_address="151 E Wacker Dr, Chicago, IL")
    TicketTypeFactory(conference=conference, name="Full conference")
    day = conference.start_date
    SessionFactory(
        conference=conference,
        kind="plenary",
        title="Opening plenary",
        capacity=None,
        starts_at=_at(day, 8, 30),
        ends_at=_at(day, 9, 30),
        room="Ballroom",
    )
    SessionFactory(conference=conference, title="Infusion billing", capacity=1)
    SessionFactory(conference=conference, title="Hiring MAs", capacity=5)
    return conference


def breakout(conference, title):
    return conference.sessions.get(title=title)


def paid_attendee(conference, *sessions, email="dev@lakeshore.example", owner=None):
    order = services.order_create(
        conference_id=conference.pk,
        owner=owner or MemberFactory(),
        attendees=[
            AttendeeSpec(
                first_name="Dev",
                last_name="Patel",
                email=email,
                ticket_type_id=conference.ticket_types.get().pk,
                session_ids=[s.pk for s in sessions],
            )
        ],
    )
    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_test")
    return order.attendees.get()


def link(attendee, name="conferences:attendee-ticket"):
    return reverse(name, args=[tickets.attendee_token(attendee)])


def test_an_attendee_without_an_account_opens_their_ticket_qr_and_calendar(client, conference):
    attendee = paid_attendee(conference, breakout(conference, "Hiring MAs"))

    page = client.get(link(attendee))
    calendar = client.get(link(attendee, "conferences:attendee-ics"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and attendee.ticket_code in html
    assert "Hiring MAs" in html
    assert "No refund" in html or "refund" in html.lower()
    assert page["Cache-Control"].startswith("private") or "no-store" in page["Cache-Control"]
    assert calendar.status_code == 200
    assert calendar["Content-Type"] == "text/calendar"


def test_the_token_is_stable_and_the_qr_holds_the_link(conference):
    attendee = paid_attendee(conference)

    assert tickets.attendee_token(attendee) == tickets.attendee_token(attendee)
    assert tickets.ticket_url(attendee).endswith(link(attendee))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: t.split(":")[0],  # no signature
        lambda t: "%22%27",
        lambda t: "a" * 300,
    ],
)
def test_a_tampered_link_is_a_404_and_changes_nothing(client, conference, mangle):
    attendee = paid_attendee(conference)
    bad = mangle(tickets.attendee_token(attendee))

    for name in ("attendee-ticket", "attendee-ics", "attendee-details"):
        response = client.get(f"/conferences/t/{bad}/" + ("calendar.ics" if "ics" in name else ""))
        assert response.status_code == 404, name
    response = client.post(f"/conferences/t/{bad}/details/", {"dietary_needs": "Vegan"})

    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    attendee.refresh_from_db()
    assert attendee.dietary_needs == ""


def test_a_link_signed_for_another_purpose_is_refused(client, conference):
    attendee = paid_attendee(conference)
    forged = signing.Signer(salt="something.else").sign_object(
        {"a": attendee.pk, "t": attendee.ticket_code, "x": "2999-01-01"}
    )

    assert client.get(f"/conferences/t/{forged}/").status_code == 404


def test_an_expired_link_is_gone(client, conference):
    attendee = paid_attendee(conference)
    old = signing.Signer(salt=tickets.LINK_SALT).sign_object(
        {"a": attendee.pk, "t": attendee.ticket_code, "x": "2020-01-01"}
    )

    response = client.get(f"/conferences/t/{old}/")

    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_a_reissued_ticket_revokes_the_old_link(client, conference):
    attendee = paid_attendee(conference)
    old = link(attendee)
    services.attendee_substitute(
        attendee_id=attendee.pk,
        by_user=attendee.order.owner,
        first_name="Lena",
        last_name="Kim",
        email="lena@lakeshore.example",
    )
    attendee.refresh_from_db()

    assert client.get(old).status_code == 410
    assert client.post(old + "details/", {"dietary_needs": "Vegan"}).status_code == 410
    assert client.get(link(attendee)).status_code == 200
    attendee.refresh_from_db()
    assert attendee.dietary_needs == ""


def test_a_cancelled_order_revokes_its_links(client, conference):
    attendee = paid_attendee(conference)
    services.order_cancel(order_id=attendee.order_id, by_user=attendee.order.owner)

    response = client.get(link(attendee))

    assert response.status_code == 410
    assert "canceled" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "lands_on"),
    [("staff", "check-in"), ("check-in staff", "check-in"), ("member", "ticket")],
)
def test_scanning_the_qr(client, conference, who, lands_on):
    from django.contrib.auth.models import Group

    attendee = paid_attendee(conference)
    if who == "staff":
        second_factor_client(StaffFactory(), client)
    elif who == "check-in staff":
        user = UserFactory()
        user.groups.add(Group.objects.get(name="Check-in staff"))
        second_factor_client(user, client)
    else:
        client.force_login(MemberFactory())

    response = client.get(link(attendee), follow=True)

    if lands_on == "check-in":
        assert response.redirect_chain[-1][0].endswith(
            f"/staff/check-in/?code={attendee.ticket_code}"
        )
        assert f"Check in {attendee.first_name}" in response.content.decode()
    else:
        assert response.status_code == 200
        assert "Update needs or break-outs" in response.content.decode()


def test_staff_without_the_second_factor_are_asked_for_it_before_check_in(client, conference):
    attendee = paid_attendee(conference)
    client.force_login(StaffFactory())

    response = client.get(link(attendee), follow=True)

    assert f"Check in {attendee.first_name}" not in response.content.decode()
    assert "/accounts/" in response.redirect_chain[-1][0]


# --- Self-service -------------------------------------------------------------------------------


def test_attendee_updates_needs_and_moves_to_a_free_breakout(client, conference):
    billing, hiring = breakout(conference, "Infusion billing"), breakout(conference, "Hiring MAs")
    attendee = paid_attendee(conference, hiring)
    url = link(attendee, "conferences:attendee-details")
    form = client.get(url)
    assert form.status_code == 200
    assert f'value="{hiring.pk}"' in form.content.decode()

    response = client.post(
        url,
        {"dietary_needs": "Vegetarian", "accessibility_needs": "Step-free", "slot_0": billing.pk},
    )

    assert response.status_code == 302
    assert response["Location"] == link(attendee)
    attendee.refresh_from_db()
    assert attendee.dietary_needs == "Vegetarian"
    assert attendee.accessibility_needs == "Step-free"
    assert [c.session_id for c in attendee.choices.all()] == [billing.pk]


def test_a_full_breakout_is_refused_and_nothing_changes(client, conference):
    billing, hiring = breakout(conference, "Infusion billing"), breakout(conference, "Hiring MAs")
    paid_attendee(conference, billing, email="first@x.example")  # takes billing's one seat
    attendee = paid_attendee(conference, hiring)

    response = client.post(
        link(attendee, "conferences:attendee-details"),
        {"dietary_needs": "Vegan", "slot_0": billing.pk},
    )

    assert response.status_code == 409
    assert "is full" in response.content.decode()
    attendee.refresh_from_db()
    assert attendee.dietary_needs == ""
    assert [c.session_id for c in attendee.choices.all()] == [hiring.pk]


def test_no_breakout_frees_the_seat(client, conference, django_capture_on_commit_callbacks):
    billing = breakout(conference, "Infusion billing")
    attendee = paid_attendee(conference, billing)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(link(attendee, "conferences:attendee-details"), {"slot_0": "0"})

    assert response.status_code == 302
    assert not BreakoutChoice.objects.filter(session=billing).exists()
    assert callbacks  # the updated ticket mail and the waitlist offer follow the commit


def test_a_started_breakout_cannot_change(client, conference):
    billing, hiring = breakout(conference, "Infusion billing"), breakout(conference, "Hiring MAs")
    attendee = paid_attendee(conference, hiring)
    started = timezone.now() - timedelta(minutes=5)
    type(billing).objects.filter(pk__in=[billing.pk, hiring.pk]).update(starts_at=started)
    BreakoutChoice.objects.filter(attendee=attendee).update(slot_starts_at=started)

    client.post(link(attendee, "conferences:attendee-details"), {"slot_0": billing.pk})

    assert [c.session_id for c in attendee.choices.all()] == [hiring.pk]


def test_a_breakout_of_another_conference_is_refused(client, conference):
    other = SessionFactory(title="Elsewhere")
    attendee = paid_attendee(conference)

    response = client.post(link(attendee, "conferences:attendee-details"), {"slot_0": other.pk})

    assert response.status_code == 200  # not one of the choices: a form error
    assert not attendee.choices.exists()


@pytest.mark.parametrize("value", ["'\"<x>", "a\x00b", "99999999999999999999", "x" * 10_240])
def test_hostile_details_change_nothing(client, conference, value):
    attendee = paid_attendee(conference)

    response = client.post(
        link(attendee, "conferences:attendee-details"),
        {"dietary_needs": value, "accessibility_needs": value, "slot_0": value},
    )

    assert 400 <= response.status_code < 500 or response.status_code == 200
    attendee.refresh_from_db()
    assert attendee.dietary_needs == ""


# --- Calendar and mail ---------------------------------------------------------------------------


def test_calendar_has_dtstamp_plenaries_and_the_full_address(conference):
    attendee = paid_attendee(conference, breakout(conference, "Hiring MAs"))

    calendar = Calendar.from_ical(tickets.attendee_ics(attendee))
    events = list(calendar.walk("VEVENT"))

    assert all("DTSTAMP" in e for e in events)
    summaries = [str(e["SUMMARY"]) for e in events]
    assert summaries == [conference.title, "Opening plenary (plenary)", "Hiring MAs (break-out)"]
    assert all("151 E Wacker Dr, Chicago, IL" in str(e["LOCATION"]) for e in events)
    assert str(events[1]["LOCATION"]).startswith("Ballroom, ")


def test_ticket_mail_shows_the_qr_inline_and_carries_the_link(conference):
    attendee = paid_attendee(conference)
    tasks.send_attendee_ticket(attendee.pk)

    sent = email.message_from_bytes(
        mail.outbox[-1].message().as_bytes(), policy=email.policy.default
    )
    assert sent.get_content_type() == "multipart/mixed"
    related = next(p for p in sent.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.walk() if p.get_content_type() == "image/png")
    cid = image["Content-ID"].strip("<>")
    html = sent.get_body(("html",)).get_content()
    assert f'src="cid:{cid}"' in html
    assert image.get_content() == tickets.qr_png(attendee)
    assert any(p.get_content_type() == "text/calendar" for p in sent.iter_attachments())
    text = sent.get_body(("plain",)).get_content()
    assert tickets.ticket_url(attendee) in text
    assert tickets.attendee_link(attendee, "conferences:attendee-details") in text


# --- Cancelled and refunded: one mail ------------------------------------------------------------


def closure_mails():
    return [m for m in mail.outbox if "canceled" in m.subject or "Refund" in m.subject]


def test_cancelling_sends_one_confirmation_naming_the_refund(
    conference, django_capture_on_commit_callbacks
):
    conference.full_refund_until = conference.start_date
    conference.save()
    attendee = paid_attendee(conference, owner=MemberFactory(email="maria@x.example"))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks() as queued:
        services.order_cancel(order_id=attendee.order_id, by_user=attendee.order.owner)
    assert queued  # the cancelled order and its refund each queue the task after the commit
    # The task as the worker runs it, then as a redelivery (or the refund's own queuing) would.
    assert send_order_closure_mail(attendee.order_id) == "canceled"
    assert send_order_closure_mail(attendee.order_id) == ""

    sent = closure_mails()
    assert len(sent) == 1
    assert sent[0].to == ["maria@x.example"]
    assert "is canceled" in sent[0].subject
    assert "$495.00" in sent[0].body
    assert SentMail.objects.filter(key__startswith="refund:").count() == 1


def test_a_refund_after_cancelling_gets_its_own_mail_once(conference):
    attendee = paid_attendee(conference)
    order = attendee.order
    services.order_cancel(order_id=order.pk, by_user=order.owner)  # no refund due
    send_order_closure_mail(order.pk)
    assert len(closure_mails()) == 1
    assert "No refund is due" in closure_mails()[0].body

    Refund.objects.create(order=order, amount_cents=10_000, reason="Paid after cancelling")
    assert send_order_closure_mail(order.pk) == "refunded"
    assert send_order_closure_mail(order.pk) == ""

    sent = closure_mails()
    assert len(sent) == 2
    assert sent[1].subject.startswith("Refund for your")
    assert "$100.00" in sent[1].body


def test_a_failed_send_gives_the_claim_back(conference, settings):
    attendee = paid_attendee(conference)
    services.order_cancel(order_id=attendee.order_id, by_user=attendee.order.owner)
    settings.EMAIL_BACKEND = "tests.conferences.test_attendee_link.FailingBackend"

    with pytest.raises(OSError):
        send_order_closure_mail(attendee.order_id)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    assert send_order_closure_mail(attendee.order_id) == "canceled"
    assert len(closure_mails()) == 1


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("mail server down")
