"""Hand-edited registration, waitlist and staff-filter input gets a form error or a 4xx, and
changes nothing (these answered 500: `int()` of whatever was posted or put in the URL)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from conferences.models import Order, WaitlistEntry
from tests.conferences.test_views import _registration_post, paid_order
from tests.conftest import second_factor_client
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def conference():
    conference = ConferencePageFactory(capacity=50)
    TicketTypeFactory(conference=conference, name="Full conference")
    SessionFactory(conference=conference, title="Infusion billing", capacity=2)
    return conference


@pytest.mark.parametrize("count", ["abc", "", "99999999999999999999", "-3", "'\""])
def test_add_attendee_with_a_count_that_is_not_a_number_redraws_the_form(client, conference, count):
    client.force_login(MemberFactory())
    data = _registration_post(conference, [("Ana", "ana@x.org", 0)])
    del data["confirm"]
    data["add_attendee"] = "1"
    data["form-TOTAL_FORMS"] = count

    response = client.post(reverse("conferences:register", args=[conference.pk]), data)

    assert response.status_code == 200
    assert not Order.objects.exists()


def test_registration_with_a_count_that_is_not_a_number_is_refused(client, conference):
    client.force_login(MemberFactory())
    data = _registration_post(conference, [("Ana", "ana@x.org", 0)])
    data["form-TOTAL_FORMS"] = "abc"

    response = client.post(reverse("conferences:register", args=[conference.pk]), data)

    assert 200 <= response.status_code < 500
    assert response.status_code != 302
    assert not Order.objects.exists()


@pytest.mark.parametrize("session", ["abc", "", "99999999999999999999", "0", "'\"<x>"])
def test_breakout_waitlist_with_a_session_that_is_not_one_says_so(client, conference, session):
    owner = MemberFactory()
    order = paid_order(conference, owner)
    attendee = order.attendees.get()
    client.force_login(owner)

    response = client.post(
        reverse("conferences:breakout-waitlist-join", args=[order.code, attendee.pk]),
        {"session": session},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("conferences:order", args=[order.code])
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        {"ticket_type": "abc"},
        {"ticket_type": "99999999999999999999"},
        {"ticket_type": "999999"},
        {"status": "'\"<x>"},
        {"q": "x" * 10_240},
    ],
)
def test_staff_list_drops_filters_it_cannot_read_and_says_so(client, conference, query):
    paid_order(conference, MemberFactory())
    second_factor_client(StaffFactory(), client)

    response = client.get(reverse("conferences:staff-registrations", args=[conference.pk]), query)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Some filters were not understood" in html
    assert "Lakeshore Rheumatology" in html  # the list, unfiltered


def test_staff_list_still_filters_by_a_real_ticket_type(client, conference):
    paid_order(conference, MemberFactory())
    second_factor_client(StaffFactory(), client)
    ticket = conference.ticket_types.first()

    response = client.get(
        reverse("conferences:staff-registrations", args=[conference.pk]),
        {"ticket_type": ticket.pk},
    )

    assert response.status_code == 200
    assert "Some filters were not understood" not in response.content.decode()
    assert "Lakeshore Rheumatology" in response.content.decode()
