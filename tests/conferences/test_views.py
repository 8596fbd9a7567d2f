"""The pages people use: prices by membership, registering, orders, tickets, staff tools."""

import csv
import io

import pytest
from django.urls import reverse

from conferences import services
from conferences.models import Order, WaitlistEntry
from conferences.services import AttendeeSpec
from tests.conftest import second_factor_client
from tests.factories import (
    ConferencePageFactory,
    DiscountCodeFactory,
    MemberFactory,
    MembershipFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def conference():
    conference = ConferencePageFactory(capacity=50)
    TicketTypeFactory(conference=conference, name="Full conference")
    first = SessionFactory(conference=conference, title="Infusion billing", capacity=2)
    SessionFactory(conference=conference, title="Hiring MAs", starts_at=first.starts_at)
    return conference


def paid_order(conference, owner, **attendee):
    ticket = conference.ticket_types.first()
    order = services.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(
                first_name=attendee.get("first_name", "Ana"),
                last_name="Diaz",
                email=attendee.get("email", "ana@clinic.example"),
                practice="Lakeshore Rheumatology",
                dietary_needs=attendee.get("dietary_needs", ""),
                ticket_type_id=ticket.pk,
            )
        ],
    )
    services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_test")
    order.refresh_from_db()
    return order


def test_conference_page_shows_agenda_seats_left_and_non_member_price(client, conference):
    response = client.get(conference.url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Infusion billing" in html and "Hiring MAs" in html
    assert "2 seats left" in html
    assert "$695.00" in html  # anonymous visitors see non-member prices


def test_non_member_sees_member_price_after_joining(client, conference):
    person = UserFactory()
    client.force_login(person)
    assert "$695.00" in client.get(conference.url).content.decode()

    # Joining: the membership MemberFactory gives its members, now for this same person.
    MembershipFactory(user=person)

    html = client.get(conference.url).content.decode()
    assert "$495.00" in html
    assert "member prices" in html


def test_register_requires_login(client, conference):
    url = reverse("conferences:register", args=[conference.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def _registration_post(conference, attendees, code=""):
    ticket = conference.ticket_types.first()
    sessions = list(conference.sessions.order_by("pk"))
    data = {
        "form-TOTAL_FORMS": str(len(attendees)),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "1",
        "form-MAX_NUM_FORMS": "20",
        "discount_code": code,
        "confirm": "1",  # straight past the review (its own tests are in test_review.py)
    }
    for i, (first, email, session_index) in enumerate(attendees):
        data.update(
            {
                f"form-{i}-first_name": first,
                f"form-{i}-last_name": "Diaz",
                f"form-{i}-email": email,
                f"form-{i}-ticket_type": str(ticket.pk),
                f"form-{i}-slot_0": str(sessions[session_index].pk)
                if session_index is not None
                else "0",
            }
        )
    return data


def test_group_registration_with_comp_code_confirms_without_payment(client, conference):
    DiscountCodeFactory(conference=conference, code="COMP", value=100)
    owner = MemberFactory()
    client.force_login(owner)

    response = client.post(
        reverse("conferences:register", args=[conference.pk]),
        _registration_post(
            conference,
            [("Ana", "ana@x.org", 0), ("Bo", "bo@x.org", 1), ("Cy", "cy@x.org", None)],
            "comp",
        ),
    )

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("conferences:order", args=[order.code])
    assert order.status == Order.Status.PAID
    assert [a.first_name for a in order.attendees.all()] == ["Ana", "Bo", "Cy"]
    assert [a.choices.count() for a in order.attendees.all()] == [1, 1, 0]


def test_sold_out_breakout_is_said_plainly_and_nothing_is_held(client, conference):
    DiscountCodeFactory(conference=conference, code="COMP", value=100)
    client.force_login(MemberFactory())
    url = reverse("conferences:register", args=[conference.pk])
    client.post(
        url, _registration_post(conference, [("A", "a@x.org", 0), ("B", "b@x.org", 0)], "COMP")
    )

    response = client.post(url, _registration_post(conference, [("C", "c@x.org", 0)], "COMP"))

    assert response.status_code == 409
    assert "The break-out “Infusion billing” is sold out." in response.content.decode()
    assert Order.objects.count() == 1


def test_add_attendee_button_adds_a_form_without_errors(client, conference):
    client.force_login(MemberFactory())
    data = _registration_post(conference, [("Ana", "ana@x.org", 0)])
    del data["confirm"]
    data["add_attendee"] = "1"

    response = client.post(reverse("conferences:register", args=[conference.pk]), data)

    assert response.status_code == 200
    assert "Attendee 2" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 200), ("staff", 200), ("other", 404), ("anonymous", 302)]
)
def test_order_page_only_for_owner_and_staff(client, conference, who, status):
    owner = MemberFactory()
    order = paid_order(conference, owner)
    users = {"owner": owner, "staff": StaffFactory(), "other": UserFactory(), "anonymous": None}
    if users[who]:
        client.force_login(users[who])

    response = client.get(reverse("conferences:order", args=[order.code]))

    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), [("attendee", 200), ("owner", 200), ("other", 404)])
def test_ticket_with_qr_for_attendee_and_owner_only(client, conference, who, status):
    owner = MemberFactory()
    attendee_user = UserFactory(email="ana@clinic.example")
    order = paid_order(conference, owner)
    code = order.attendees.get().ticket_code
    client.force_login({"attendee": attendee_user, "owner": owner, "other": UserFactory()}[who])

    response = client.get(reverse("conferences:ticket", args=[code]))

    assert response.status_code == status
    if status == 200:
        assert "<svg" in response.content.decode()


def test_staff_scanning_a_ticket_lands_on_check_in(client, conference):
    order = paid_order(conference, MemberFactory())
    code = order.attendees.get().ticket_code
    second_factor_client(StaffFactory(), client)

    response = client.get(reverse("conferences:ticket", args=[code]), follow=True)

    assert response.redirect_chain[-1][0].endswith(f"/staff/check-in/?code={code}")
    assert "Check in Ana" in response.content.decode()


@pytest.mark.parametrize(
    "name", ["staff-registrations", "staff-export", "staff-checkin", "staff-dashboard"]
)
@pytest.mark.parametrize(("who", "status"), [("member", 403), ("non_member", 403), ("staff", 200)])
def test_staff_tools_are_for_staff_only(client, conference, name, who, status):
    user = {"member": MemberFactory(), "non_member": UserFactory(), "staff": StaffFactory()}[who]
    second_factor_client(user, client)

    assert client.get(reverse(f"conferences:{name}", args=[conference.pk])).status_code == status


def test_staff_tools_send_anonymous_visitors_to_log_in(client, conference):
    response = client.get(reverse("conferences:staff-checkin", args=[conference.pk]))
    assert response.status_code == 302


def test_csv_export_lists_paid_attendees_with_needs_and_breakouts(client, conference):
    paid_order(conference, MemberFactory(), dietary_needs="=vegan")
    services.order_create(
        conference_id=conference.pk,
        owner=UserFactory(),
        attendees=[
            AttendeeSpec(
                first_name="Unpaid",
                last_name="X",
                email="u@x.org",
                ticket_type_id=conference.ticket_types.first().pk,
            )
        ],
    )
    second_factor_client(StaffFactory(), client)

    response = client.get(reverse("conferences:staff-export", args=[conference.pk]))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["First name", "Last name", "Email", "Practice", "Ticket"]
    assert len(rows) == 2
    assert rows[1][3] == "Lakeshore Rheumatology"
    assert rows[1][6] == "'=vegan"  # never a spreadsheet formula


def test_check_in_by_code_then_again_says_already(client, conference):
    order = paid_order(conference, MemberFactory())
    code = order.attendees.get().ticket_code
    second_factor_client(StaffFactory(), client)
    url = reverse("conferences:staff-checkin", args=[conference.pk])

    first = client.post(url, {"code": code}).content.decode()
    again = client.post(url, {"code": code}).content.decode()

    assert "Checked in" in first and "Ana Diaz" in first
    assert "Already checked in" in again


def test_registrations_list_query_count_does_not_grow(
    client, conference, django_assert_max_num_queries
):
    second_factor_client(StaffFactory(), client)
    for n in range(12):
        paid_order(conference, MemberFactory(), first_name=f"P{n}", email=f"p{n}@x.org")
    url = reverse("conferences:staff-registrations", args=[conference.pk])

    with django_assert_max_num_queries(25):
        response = client.get(url)
    assert response.content.decode().count("Lakeshore Rheumatology") == 12


def test_owner_cancels_a_held_order_and_seats_free_up(client, conference):
    owner = MemberFactory()
    order = services.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(
                first_name="A",
                last_name="B",
                email="a@x.org",
                ticket_type_id=conference.ticket_types.first().pk,
            )
        ],
    )
    assert order.status == Order.Status.HELD
    client.force_login(owner)
    url = reverse("conferences:order-cancel", args=[order.code])
    assert "released" in client.get(url).content.decode()

    client.post(url)

    order.refresh_from_db()
    assert order.status == "cancelled"


def test_order_owner_joins_a_full_breakout_waitlist_and_takes_the_offer(client, conference):
    owner = MemberFactory()
    order = paid_order(conference, owner)
    attendee = order.attendees.get()
    full = conference.sessions.get(title="Infusion billing")
    full.capacity = 0
    full.save()
    client.force_login(owner)

    page = client.get(reverse("conferences:order", args=[order.code])).content.decode()
    assert "Wait for a seat in a full break-out" in page
    client.post(
        reverse("conferences:breakout-waitlist-join", args=[order.code, attendee.pk]),
        {"session": full.pk},
    )
    entry = WaitlistEntry.objects.get(session=full, attendee=attendee)
    full.capacity = 1
    full.save()
    services.waitlist_offer_seats(conference_id=conference.pk)
    url = reverse("conferences:waitlist-offer", args=[entry.token])

    assert "Take the seat" in client.get(url).content.decode()
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert list(attendee.sessions.all()) == [full]
