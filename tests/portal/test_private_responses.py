"""One person's pages (accounts, orders, tickets, CSVs, archives, attachments, anything a
signed-in visitor sees) are sent `Cache-Control: private, no-store`, so no browser history, proxy
or CDN keeps a copy; anonymous public pages keep their CDN caching."""

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from blog.models import BlogPostPage
from conferences import services as conference_services
from conferences.services import AttendeeSpec
from discussions import services as discussion_services
from discussions.models import Attachment
from tests.conftest import second_factor_client
from tests.discussions.helpers import make_list
from tests.factories import (
    ConferencePageFactory,
    MemberFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def assert_private(response):
    cache_control = response.get("Cache-Control", "")
    assert "private" in cache_control and "no-store" in cache_control, cache_control
    assert "public" not in cache_control and "s-maxage" not in cache_control, cache_control


@pytest.fixture
def order():
    conference = ConferencePageFactory(capacity=50)
    ticket = TicketTypeFactory(conference=conference)
    owner = MemberFactory()
    order = conference_services.order_create(
        conference_id=conference.pk,
        owner=owner,
        attendees=[
            AttendeeSpec(
                first_name="Ana",
                last_name="Diaz",
                email="ana@clinic.example",
                practice="Lakeshore Rheumatology",
                ticket_type_id=ticket.pk,
            )
        ],
    )
    conference_services.order_mark_paid(order_id=order.pk, payment_intent_id="pi_test")
    return order


def test_account_page_is_private(client):
    client.force_login(MemberFactory())

    assert_private(client.get(reverse("membership:account")))


def test_order_ticket_and_calendar_are_private(client, order):
    client.force_login(order.owner)
    code = order.attendees.get().ticket_code

    for url in [
        reverse("conferences:order", args=[order.code]),
        reverse("conferences:ticket", args=[code]),
        reverse("conferences:ticket-ics", args=[code]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_private(response)


def test_staff_csv_exports_are_private(client, order):
    second_factor_client(StaffFactory(is_superuser=True), client)
    conference_csv = client.get(reverse("conferences:staff-export", args=[order.conference_id]))
    members_csv = client.get("/admin/members/?export=csv")

    assert conference_csv.status_code == 200
    assert_private(conference_csv)
    assert members_csv.status_code == 200
    assert_private(members_csv)


def test_archive_thread_and_attachment_are_private(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    billing = make_list()
    member = MemberFactory()
    message = discussion_services.message_post_web(
        user=member, mailing_list=billing, subject="Prior auths", text="How?"
    )
    attachment = Attachment.objects.create(
        message=message,
        file=ContentFile(b"%PDF-1.4 form", name="pa.pdf"),
        filename="pa.pdf",
        content_type="application/pdf",
        size=13,
    )
    client.force_login(member)

    for url in [
        reverse("discussions:index"),
        billing.get_absolute_url(),
        message.thread.get_absolute_url(),
        reverse("discussions:attachment", args=[attachment.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_private(response)


def test_private_pages_reached_without_a_session_are_private_too(order):
    # Signed links (ticket QR codes, invitations) and the login page work for anonymous visitors.
    anonymous = Client()

    assert_private(anonymous.get(reverse("account_login")))
    assert_private(anonymous.get(reverse("conferences:order", args=[order.code])))


def test_a_signed_in_readers_article_is_private(client, demo_site):
    article = BlogPostPage.objects.live().first()
    client.force_login(UserFactory())

    assert_private(client.get(article.url))


def test_anonymous_articles_keep_their_cdn_caching(client, demo_site):
    article = BlogPostPage.objects.live().first()

    first = client.get(article.url)
    second = client.get(article.url)

    for response in (first, second):
        assert "public" in response["Cache-Control"] and "s-maxage" in response["Cache-Control"]
        assert "no-store" not in response["Cache-Control"]
    assert second["X-Page-Cache"] == "hit"
