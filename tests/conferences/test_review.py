"""The review before paying: every attendee's price, the discount, the total and the policy,
then pay. Nothing is held until the buyer confirms."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences import pricing, services
from conferences.models import Order
from conferences.services import AttendeeSpec
from tests.factories import (
    ConferencePageFactory,
    DiscountCodeFactory,
    MemberFactory,
    SessionFactory,
    TicketTypeFactory,
    UserFactory,
    _days,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def conference():
    conference = ConferencePageFactory(capacity=50, full_refund_until=timezone.localdate())
    TicketTypeFactory(
        conference=conference,
        name="Full conference",
        early_bird_member_price_cents=39_500,
        early_bird_until=timezone.now() + _days(10),
    )
    first = SessionFactory(conference=conference, title="Infusion billing", capacity=5)
    SessionFactory(conference=conference, title="Hiring MAs", starts_at=first.starts_at)
    return conference


def post_data(conference, people, *, code="", button="review"):
    ticket = conference.ticket_types.get()
    sessions = list(conference.sessions.order_by("pk"))
    data = {
        "form-TOTAL_FORMS": str(len(people)),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "1",
        "form-MAX_NUM_FORMS": "20",
        "discount_code": code,
        button: "1",
    }
    for i, (first, email, choice) in enumerate(people):
        data.update(
            {
                f"form-{i}-first_name": first,
                f"form-{i}-last_name": "Diaz",
                f"form-{i}-email": email,
                f"form-{i}-ticket_type": str(ticket.pk),
            }
        )
        if choice is not None:
            data[f"form-{i}-slot_0"] = "0" if choice == "none" else str(sessions[choice].pk)
    return data


def url(conference):
    return reverse("conferences:register", args=[conference.pk])


def test_review_lists_each_attendee_price_discount_total_and_policy(client, conference):
    DiscountCodeFactory(conference=conference, code="TEAM", value=10)
    client.force_login(MemberFactory())

    response = client.post(
        url(conference),
        post_data(conference, [("Ana", "ana@x.org", 0), ("Bo", "bo@x.org", "none")], code="team"),
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Review your order" in html
    assert html.count('data-testid="review-line"') == 2
    assert "member price" in html and "Early bird" in html
    assert "Infusion billing" in html and "No break-outs" in html
    assert "\u2212$79.00" in html  # 10% of two $395.00 early-bird tickets
    assert "$711.00" in html
    assert "Full refund until" in html
    assert "Pay $711.00" in html
    assert not Order.objects.exists()  # nothing held before the buyer confirms


def test_confirming_the_review_places_the_order_at_the_reviewed_total(
    client, conference, monkeypatch
):
    client.force_login(MemberFactory())
    review = client.post(url(conference), post_data(conference, [("Ana", "ana@x.org", 0)]))
    carried = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', review.content.decode())
    )
    carried.pop("csrfmiddlewaretoken", None)
    opened = []
    monkeypatch.setattr(
        services, "order_checkout_start", lambda **kw: opened.append(kw) or "https://pay.example/"
    )

    response = client.post(url(conference), {**carried, "confirm": "1"})

    order = Order.objects.get()
    assert order.total_cents == 39_500 == int(carried["quoted_total"])
    assert response.status_code == 302 and response["Location"] == "https://pay.example/"
    assert opened


def test_a_total_that_changed_since_the_review_is_shown_before_paying(client, conference):
    client.force_login(MemberFactory())
    data = post_data(conference, [("Ana", "ana@x.org", 0)], button="confirm")
    data["quoted_total"] = "1000"  # what the buyer saw before the early bird ended

    response = client.post(url(conference), data)

    order = Order.objects.get()
    assert response["Location"] == reverse("conferences:order", args=[order.code])
    page = client.get(response["Location"]).content.decode()
    assert "The total changed since you reviewed it" in page


def test_change_attendees_goes_back_to_the_form_as_filled(client, conference):
    client.force_login(MemberFactory())

    response = client.post(
        url(conference), post_data(conference, [("Ana", "ana@x.org", 0)], button="edit")
    )

    html = response.content.decode()
    assert 'value="Ana"' in html
    assert "Review order" in html
    assert "errorlist" not in html


def test_no_breakout_is_not_preselected_and_must_be_chosen(client, conference):
    client.force_login(MemberFactory())
    form = client.get(url(conference)).content.decode()
    assert not re.search(r'<input[^>]*name="form-0-slot_0"[^>]*checked', form)
    assert "No break-out in this slot" in form

    response = client.post(url(conference), post_data(conference, [("Ana", "ana@x.org", None)]))

    assert response.status_code == 200
    assert "Choose a break-out for this time slot" in response.content.decode()
    assert "Review your order" not in response.content.decode()


def test_a_ticket_without_breakouts_needs_no_choice(client, conference):
    ticket = conference.ticket_types.get()
    ticket.includes_breakouts = False
    ticket.save()
    client.force_login(MemberFactory())

    response = client.post(url(conference), post_data(conference, [("Ana", "ana@x.org", None)]))

    assert "Review your order" in response.content.decode()


def test_add_another_attendee_keeps_the_place(client, conference):
    client.force_login(MemberFactory())
    form = client.get(url(conference)).content.decode()
    assert 'formaction="#attendee-2"' in form

    data = post_data(conference, [("Ana", "ana@x.org", 0)], button="add_attendee")
    html = client.post(url(conference), data).content.decode()

    assert 'id="attendee-2"' in html  # where the page opens; register.js focuses its field
    assert "conferences/js/register.js" in html
    assert 'formaction="#attendee-3"' in html


def test_an_email_that_already_has_a_ticket_is_warned_about(client, conference):
    ticket = conference.ticket_types.get()
    services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[
            AttendeeSpec(
                first_name="Ana", last_name="D", email="Ana@X.org", ticket_type_id=ticket.pk
            )
        ],
    )
    client.force_login(MemberFactory())

    response = client.post(
        url(conference),
        post_data(
            conference, [("Ana", "ana@x.org", 0), ("Bo", "bo@x.org", 0), ("B", "BO@x.org", 0)]
        ),
    )

    html = response.content.decode()
    assert "ana@x.org already has a ticket for this conference." in html
    assert "bo@x.org is listed twice in this order." in html


def test_an_unknown_discount_code_is_said_on_the_form(client, conference):
    client.force_login(MemberFactory())

    response = client.post(
        url(conference), post_data(conference, [("Ana", "ana@x.org", 0)], code="NOPE")
    )

    html = response.content.decode()
    assert "The discount code NOPE is not valid." in html
    assert "Review your order" not in html


def test_the_quote_prices_as_the_order_does(conference):
    DiscountCodeFactory(conference=conference, code="HALF", value=50)
    for owner in (MemberFactory(), UserFactory()):
        specs = [
            AttendeeSpec(
                first_name="A",
                last_name="D",
                email=f"{n}@x.org",
                ticket_type_id=conference.ticket_types.get().pk,
            )
            for n in ("a", "b")
        ]
        quote = pricing.quote(
            conference=conference, owner=owner, attendees=specs, discount_code="half"
        )
        order = services.order_create(
            conference_id=conference.pk, owner=owner, attendees=specs, discount_code="half"
        )
        assert (quote.subtotal_cents, quote.discount_cents, quote.total_cents) == (
            order.subtotal_cents,
            order.discount_cents,
            order.total_cents,
        )


def test_the_conference_page_shows_the_cancellation_policy(client, conference):
    html = client.get(conference.url).content.decode()

    assert 'data-testid="conference-policy"' in html
    assert "Full refund until" in html
