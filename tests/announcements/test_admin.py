"""The announcements admin: who may open it, the recipient count, a test send to oneself,
scheduling, and the delivery list."""

import pytest
from django.urls import reverse

from announcements.models import Announcement, AnnouncementDelivery
from tests.conftest import second_factor_client
from tests.factories import MemberFactory, StaffFactory, UserFactory

BODY = "<p>Dues go up in January.</p>"
DRAFTAIL = (
    '{"blocks":[{"key":"a","text":"Dues go up.","type":"unstyled","depth":0,'
    '"inlineStyleRanges":[],"entityRanges":[]}],"entityMap":{}}'
)


def _overview(announcement):
    return reverse("announcements_overview", args=[announcement.pk])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", ["anonymous", "non-member", "member", "staff without 2FA", "staff without permission"]
)
def test_only_staff_past_the_second_factor_reach_it(client, role):
    announcement = Announcement.objects.create(subject="Dues", body=BODY)
    user = {
        "anonymous": None,
        "non-member": UserFactory,
        "member": MemberFactory,
        "staff without 2FA": lambda: StaffFactory(is_superuser=True),
        "staff without permission": StaffFactory,
    }[role]
    if role == "staff without permission":
        client = second_factor_client(user())
    elif user is not None:
        client.force_login(user())
    for url in (_overview(announcement), reverse("announcements:add")):
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
    response = client.post(
        reverse("announcements_act", args=[announcement.pk]), {"action": "schedule"}
    )
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"] != _overview(announcement)
    announcement.refresh_from_db()
    assert announcement.state == Announcement.State.DRAFT


@pytest.mark.django_db
def test_staff_write_see_the_count_and_schedule():
    MemberFactory.create_batch(2)
    staff = StaffFactory(email="staff@example.org", is_superuser=True)
    client = second_factor_client(staff)
    response = client.post(
        reverse("announcements:add"),
        {
            "subject": "Dues in 2027",
            "body": DRAFTAIL,
            "category": "association_news",
            "segment": "active",
            "lapsed_months": "6",
            "send_at": "2099-01-05 09:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert "overview" in response["Location"], response["Location"]
    announcement = Announcement.objects.get()
    assert announcement.created_by == staff
    overview = client.get(_overview(announcement))
    assert overview.status_code == 200
    assert "<strong>2</strong> recipients right now" in overview.content.decode()

    # A plan segment without a plan is refused by the form, and nothing changes.
    response = client.post(
        reverse("announcements:edit", args=[announcement.pk]),
        {
            "subject": "Dues in 2027",
            "body": DRAFTAIL,
            "category": "association_news",
            "segment": "plan",
            "lapsed_months": "6",
        },
    )
    assert response.status_code == 200
    announcement.refresh_from_db()
    assert announcement.segment == "active"

    client.post(reverse("announcements_act", args=[announcement.pk]), {"action": "schedule"})
    announcement.refresh_from_db()
    assert announcement.state == Announcement.State.SCHEDULED
    assert announcement.scheduled_by == staff


@pytest.mark.django_db
def test_a_segment_matching_no_one_shows_zero_and_the_send_is_refused():
    staff = StaffFactory(is_superuser=True)
    client = second_factor_client(staff)
    announcement = Announcement.objects.create(
        subject="Admins", body=BODY, segment="practice_admins"
    )
    page = client.get(_overview(announcement)).content.decode()
    assert "<strong>0</strong> recipients" in page
    assert "cannot be sent" in page
    response = client.post(
        reverse("announcements_act", args=[announcement.pk]), {"action": "schedule"}, follow=True
    )
    assert "matches no one" in response.content.decode()
    announcement.refresh_from_db()
    assert announcement.state == Announcement.State.DRAFT


@pytest.mark.django_db
def test_a_sent_announcement_cannot_be_edited_and_lists_its_deliveries():
    staff = StaffFactory(is_superuser=True)
    client = second_factor_client(staff)
    announcement = Announcement.objects.create(subject="Dues", body=BODY, state="sent")
    AnnouncementDelivery.objects.create(
        announcement=announcement, email="ana@example.org", name="Ana", status="sent"
    )
    AnnouncementDelivery.objects.create(
        announcement=announcement,
        email="bo@example.org",
        status="failed",
        last_error="550 5.1.1 no such user",
    )
    page = client.get(_overview(announcement)).content.decode()
    assert "ana@example.org" in page and "550 5.1.1 no such user" in page
    assert "Sent: 1" in page and "Failed permanently: 1" in page
    filtered = client.get(_overview(announcement), {"status": "failed"}).content.decode()
    assert "bo@example.org" in filtered and "ana@example.org" not in filtered
    response = client.post(
        reverse("announcements:edit", args=[announcement.pk]),
        {
            "subject": "Sneaky change",
            "body": DRAFTAIL,
            "category": "association_news",
            "segment": "active",
            "lapsed_months": "6",
        },
    )
    assert response.status_code == 302
    announcement.refresh_from_db()
    assert announcement.subject == "Dues"


def test_a_test_send_goes_to_the_staff_member_only(smtp_server, celery_worker):
    MemberFactory.create_batch(2)
    staff = StaffFactory(email="writer@example.org", first_name="Wes", is_superuser=True)
    client = second_factor_client(staff)
    announcement = Announcement.objects.create(subject="Dues", body=BODY)
    client.post(reverse("announcements_act", args=[announcement.pk]), {"action": "test"})
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["writer@example.org"]
    assert mail.message["Subject"] == "[Test] Dues"
    assert mail.message.get_body(("plain",)).get_content().startswith("Dear Wes,")
    assert not AnnouncementDelivery.objects.exists()
    announcement.refresh_from_db()
    assert announcement.state == Announcement.State.DRAFT
