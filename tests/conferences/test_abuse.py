"""Issue #10, conference abuse: carts that hoard seats, waitlists on seats anyone could buy,
hidden tickets open to anyone, and buyers' text turned into links in other people's mail."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from conferences import services, tasks
from conferences.models import Order, TicketType, WaitlistEntry
from conferences.services import AttendeeSpec
from tests.conferences.conftest import spec
from tests.conftest import second_factor_client
from tests.factories import (
    AccessCodeFactory,
    ConferencePageFactory,
    MemberFactory,
    SessionFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def exhibitor(conference):
    return TicketTypeFactory(
        conference=conference,
        name="Exhibitor",
        kind="exhibitor",
        member_price_cents=0,
        non_member_price_cents=0,
        includes_breakouts=False,
        requires_code=True,
    )


def register_data(ticket_type, names, *, access_code=""):
    data = {
        "form-TOTAL_FORMS": str(len(names)),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "1",
        "form-MAX_NUM_FORMS": "20",
        "discount_code": "",
        "access_code": access_code,
        "confirm": "1",  # straight past the review (its own tests are in test_review.py)
    }
    for i, name in enumerate(names):
        data.update(
            {
                f"form-{i}-first_name": name,
                f"form-{i}-last_name": "Diaz",
                f"form-{i}-email": f"{name.lower()}@clinic.example",
                f"form-{i}-ticket_type": str(ticket_type.pk),
            }
        )
    return data


# --- One unpaid order per account, holds that lapse, a cap per order ----------------------------


def test_second_unpaid_order_of_one_account_is_refused_naming_the_first(conference, full_ticket):
    breakout = SessionFactory(conference=conference, capacity=60)
    owner = UserFactory()
    first = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket, breakout)]
    )

    with pytest.raises(services.UnpaidOrderExists, match=f"unpaid order \\({first.code}\\)"):
        services.order_create(
            conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket, breakout)]
        )
    assert list(Order.objects.filter(owner=owner).values_list("status", flat=True)) == [
        Order.Status.HELD
    ]

    # Paid or canceled, it no longer stands in the way.
    services.order_cancel(order_id=first.pk, by_user=owner)
    again = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket)]
    )
    assert again.status == Order.Status.HELD


def test_register_page_points_to_the_unpaid_order_to_pay_or_cancel(client, conference, full_ticket):
    owner = UserFactory()
    first = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket)]
    )
    client.force_login(owner)

    response = client.post(
        reverse("conferences:register", args=[conference.pk]), register_data(full_ticket, ["Bo"])
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert reverse("conferences:order", args=[first.code]) in html
    assert reverse("conferences:order-cancel", args=[first.code]) in html
    assert Order.objects.filter(owner=owner).count() == 1


def test_lapsed_hold_is_released_when_its_owner_registers_again(conference, full_ticket):
    owner = UserFactory()
    first = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket)]
    )
    Order.objects.filter(pk=first.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))

    second = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket)]
    )

    first.refresh_from_db()
    assert (first.status, second.status) == (Order.Status.EXPIRED, Order.Status.HELD)


def test_lapsed_hold_cannot_be_paid_and_its_seats_are_released(client, conference):
    ticket = TicketTypeFactory(conference=conference, capacity=1)
    owner = UserFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(ticket)]
    )
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(owner)

    page = client.get(reverse("conferences:order", args=[order.code])).content.decode()
    assert reverse("conferences:order-pay", args=[order.code]) not in page
    response = client.post(reverse("conferences:order-pay", args=[order.code]), follow=True)

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert "have been released. Register again" in response.content.decode()
    # The seat is someone else's to buy now.
    other = services.order_create(
        conference_id=conference.pk, owner=UserFactory(), attendees=[spec(ticket)]
    )
    assert other.status == Order.Status.HELD


def test_late_payment_does_not_take_an_access_code_past_its_uses(conference, exhibitor):
    paid_ticket = TicketTypeFactory(
        conference=conference, name="Speaker", requires_code=True, member_price_cents=10_000
    )
    code = AccessCodeFactory(conference=conference, ticket_types=[paid_ticket], max_uses=1)
    late = services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[spec(paid_ticket)],
        access_code=code.code,
    )
    services.order_expire_holds(now=timezone.now() + timedelta(hours=1))
    services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[spec(paid_ticket)],
        access_code=code.code,
    )

    services.order_mark_paid(order_id=late.pk, payment_intent_id="pi_late")

    late.refresh_from_db()
    assert late.status == Order.Status.CANCELED
    assert late.refunds.get().amount_cents == 10_000


def test_an_order_holds_at_most_the_attendees_staff_allow(client, conference, full_ticket):
    conference.max_attendees_per_order = 2
    conference.save()
    with pytest.raises(services.RegistrationError, match="at most 2 attendees"):
        services.order_create(
            conference_id=conference.pk,
            owner=UserFactory(),
            attendees=[spec(full_ticket, name=n) for n in ("Ana", "Bo", "Cy")],
        )
    client.force_login(UserFactory())
    url = reverse("conferences:register", args=[conference.pk])

    response = client.post(url, register_data(full_ticket, ["Ana", "Bo", "Cy"]))

    assert response.status_code == 200
    assert "One order can register at most 2 attendees." in response.content.decode()
    assert not Order.objects.exists()
    at_cap = client.post(
        url, {**register_data(full_ticket, ["Ana", "Bo"]), "add_attendee": "1"}
    ).content.decode()
    assert 'name="add_attendee"' not in at_cap
    assert client.post(url, register_data(full_ticket, ["Ana", "Bo"])).status_code == 302


def test_attendee_cap_is_edited_in_the_conference_page_admin(client, conference):
    second_factor_client(StaffFactory(is_superuser=True), client)

    html = client.get(reverse("wagtailadmin_pages:edit", args=[conference.pk])).content.decode()

    assert 'name="max_attendees_per_order"' in html


# --- Waitlists only for what is sold out ------------------------------------------------------


def test_waitlist_refused_while_tickets_are_on_sale(client, conference):
    ticket = TicketTypeFactory(conference=conference, capacity=5)
    with pytest.raises(services.SeatsAvailable, match="still available: register"):
        services.waitlist_join(ticket_type_id=ticket.pk, user=UserFactory())
    client.force_login(UserFactory())

    response = client.post(reverse("conferences:waitlist-join", args=[ticket.pk]), follow=True)

    assert response.redirect_chain[0][0].startswith(
        reverse("conferences:register", args=[conference.pk])
    )
    assert "still available: register" in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_waitlist_opens_when_the_ticket_type_sells_out_and_offers_only_freed_seats(conference):
    ticket = TicketTypeFactory(conference=conference, capacity=1)
    owner = UserFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(ticket)]
    )

    entry = services.waitlist_join(ticket_type_id=ticket.pk, user=UserFactory())
    assert services.waitlist_offer_seats(conference_id=conference.pk) == []

    services.order_cancel(order_id=order.pk, by_user=owner)
    assert services.waitlist_offer_seats(conference_id=conference.pk) == [entry]


def test_waitlist_opens_when_the_whole_conference_is_full():
    conference = ConferencePageFactory(capacity=1)
    ticket = TicketTypeFactory(conference=conference)
    services.order_create(
        conference_id=conference.pk, owner=UserFactory(), attendees=[spec(ticket)]
    )

    entry = services.waitlist_join(ticket_type_id=ticket.pk, user=UserFactory())

    assert entry.status == WaitlistEntry.Status.WAITING


def test_breakout_waitlist_refused_while_the_breakout_has_seats(conference, full_ticket):
    roomy = SessionFactory(conference=conference, title="Coding clinic", capacity=10)
    other = SessionFactory(conference=conference, starts_at=roomy.starts_at, capacity=10)
    owner = UserFactory()
    order = services.order_create(
        conference_id=conference.pk, owner=owner, attendees=[spec(full_ticket, other)]
    )
    services.order_mark_paid(order_id=order.pk)

    with pytest.raises(services.SeatsAvailable, match="“Coding clinic” still has seats"):
        services.waitlist_join_breakout(
            attendee_id=order.attendees.get().pk, session_id=roomy.pk, by_user=owner
        )
    assert not WaitlistEntry.objects.exists()


# --- Hidden ticket types and access codes -----------------------------------------------------


def test_hidden_ticket_type_is_not_shown_or_sold_without_a_code(
    client, conference, full_ticket, exhibitor
):
    assert "Exhibitor" not in client.get(conference.url).content.decode()
    client.force_login(UserFactory())
    url = reverse("conferences:register", args=[conference.pk])
    # As a choice of the ticket select (the page has other inputs whose value may be the pk).
    assert f'<option value="{exhibitor.pk}"' not in client.get(url).content.decode()

    response = client.post(url, register_data(exhibitor, ["Eve"]))

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Order.objects.exists()
    with pytest.raises(services.RegistrationError, match="Exhibitor ticket needs an access code"):
        services.order_create(
            conference_id=conference.pk, owner=UserFactory(), attendees=[spec(exhibitor)]
        )
    with pytest.raises(services.RegistrationError):
        services.waitlist_join(ticket_type_id=exhibitor.pk, user=UserFactory())


def test_access_code_shows_and_sells_the_hidden_ticket_type(client, conference, exhibitor):
    code = AccessCodeFactory(conference=conference, code="BOOTH7", ticket_types=[exhibitor])
    client.force_login(UserFactory())
    url = reverse("conferences:register", args=[conference.pk])

    page = client.get(f"{url}?code=booth7").content.decode()
    assert f'value="{exhibitor.pk}"' in page
    response = client.post(url, register_data(exhibitor, ["Eve"], access_code="BOOTH7"))

    order = Order.objects.get()
    assert response.status_code == 302
    assert (order.status, order.access_code) == (Order.Status.PAID, code)


def test_access_code_refused_when_used_up_or_expired(conference, exhibitor):
    AccessCodeFactory(conference=conference, code="TWO", ticket_types=[exhibitor], max_uses=2)
    AccessCodeFactory(
        conference=conference,
        code="OLD",
        ticket_types=[exhibitor],
        valid_until=timezone.now() - timedelta(days=1),
    )
    services.order_create(
        conference_id=conference.pk,
        owner=UserFactory(),
        attendees=[spec(exhibitor)],
        access_code="two",
    )

    with pytest.raises(services.RegistrationError, match="covers only 1 more ticket"):
        services.order_create(
            conference_id=conference.pk,
            owner=UserFactory(),
            attendees=[spec(exhibitor, name="Bo"), spec(exhibitor, name="Cy")],
            access_code="TWO",
        )
    services.order_create(
        conference_id=conference.pk,
        owner=UserFactory(),
        attendees=[spec(exhibitor)],
        access_code="TWO",
    )
    with pytest.raises(services.RegistrationError, match="used up"):
        services.order_create(
            conference_id=conference.pk,
            owner=UserFactory(),
            attendees=[spec(exhibitor)],
            access_code="TWO",
        )
    with pytest.raises(services.RegistrationError, match="OLD is not valid"):
        services.order_create(
            conference_id=conference.pk,
            owner=UserFactory(),
            attendees=[spec(exhibitor)],
            access_code="OLD",
        )


def test_access_code_unlocks_only_its_own_ticket_types(conference, exhibitor):
    speaker = TicketTypeFactory(conference=conference, name="Speaker", requires_code=True)
    AccessCodeFactory(conference=conference, code="BOOTH", ticket_types=[exhibitor])

    with pytest.raises(services.RegistrationError, match="Speaker ticket needs an access code"):
        services.order_create(
            conference_id=conference.pk,
            owner=UserFactory(),
            attendees=[spec(speaker)],
            access_code="BOOTH",
        )


def test_free_ticket_type_must_be_hidden(conference):
    free = TicketType(
        conference=conference, name="Free", member_price_cents=0, non_member_price_cents=0
    )
    with pytest.raises(ValidationError, match="access code"):
        free.full_clean()
    free.requires_code = True
    free.full_clean()


def test_staff_manage_access_codes_in_the_admin(client, conference, exhibitor):
    AccessCodeFactory(conference=conference, code="BOOTH", ticket_types=[exhibitor])
    second_factor_client(StaffFactory(is_superuser=True), client)

    listing = client.get("/admin/access_codes/")
    form = client.get("/admin/access_codes/new/")

    assert listing.status_code == 200 and "BOOTH" in listing.content.decode()
    assert 'name="max_uses"' in form.content.decode()


def test_demo_exhibitor_ticket_needs_the_demo_access_code(demo_site):
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    exhibitor = TicketType.objects.get(kind="exhibitor")

    assert exhibitor.requires_code
    assert exhibitor.access_codes.get().code == "NORMEXHIBIT"


# --- Buyers' text in mail to other people -----------------------------------------------------

HOSTILE_NAME = "Visit evil.example/pay http://x.test"
INVISIBLE = re.compile(r"<[^>]+>|\u200c")


def test_names_in_a_ticket_mailed_to_someone_else_carry_no_links(conference, full_ticket):
    order = services.order_create(
        conference_id=conference.pk,
        owner=MemberFactory(),
        attendees=[
            AttendeeSpec(
                first_name=HOSTILE_NAME,
                last_name="<b>x.test</b>",
                email="victim@clinic.example",
                practice="www.evil.example",
                ticket_type_id=full_ticket.pk,
            )
        ],
    )
    services.order_mark_paid(order_id=order.pk)

    tasks.send_order_confirmation(order.pk)

    ticket = next(m for m in mail.outbox if m.to == ["victim@clinic.example"])
    html = ticket.alternatives[0][0]
    for part in (ticket.body, html):
        for linkish in ("evil.example", "http://x.test", "x.test", "www."):
            assert linkish not in part
    assert "<b>" not in html
    # Still reads as typed once the invisible breaks are taken out.
    assert f"Hello {HOSTILE_NAME}," in INVISIBLE.sub("", html)
    assert f"Hello {HOSTILE_NAME}," in ticket.body.replace("\u200c", "")
    assert "&lt;b&gt;x.test&lt;/b&gt;" in INVISIBLE.sub("", html)
