"""Pages: who may see and do what, posting from the web, subscriptions, search, moderation."""

import pytest
from django.core import mail

from discussions import services
from discussions.models import Message, Subscription, ThreadPreference
from tests.conftest import second_factor_client
from tests.factories import MemberFactory, StaffFactory, UserFactory

from .helpers import make_list, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing():
    return make_list()


@pytest.fixture
def thread(billing):
    author = MemberFactory(first_name="Maria", last_name="Lopez")
    question = services.message_post_web(
        user=author,
        mailing_list=billing,
        subject="Prior authorizations for biologics",
        text="How do you handle them?",
    )
    services.message_post_web(
        user=MemberFactory(first_name="Dev", last_name="Patel"),
        mailing_list=billing,
        subject="",
        text="We submit the same day.\n\nOn Monday Maria wrote:\n> How do you handle them?\n",
        parent=question,
    )
    return question.thread


def test_index_lists_every_list_for_anyone(client, billing):
    response = client.get("/discussions/")
    assert response.status_code == 200
    assert billing.name in response.content.decode()


def test_members_only_archive_by_role(client, billing, thread):
    url = billing.get_absolute_url()
    assert client.get(url).status_code == 302  # anonymous: log in first
    client.force_login(UserFactory())
    response = client.get(url)
    assert response.status_code == 403
    assert "Members only" in response.content.decode()
    client.force_login(MemberFactory())
    response = client.get(url)
    assert response.status_code == 200
    assert thread.subject in response.content.decode()
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(url).status_code == 200


def test_public_archive_is_open_to_anonymous_readers(client):
    open_list = make_list(slug="open", name="Open", archive_members_only=False)
    assert client.get(open_list.get_absolute_url()).status_code == 200


def test_archive_shows_threads_newest_first_with_counts_and_participants(client, billing, thread):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(MemberFactory())
    client.get(billing.get_absolute_url())  # warm per-process caches (site, navigation)
    with CaptureQueriesContext(connection) as one_thread:
        client.get(billing.get_absolute_url())
    for n in range(5):
        services.message_post_web(
            user=MemberFactory(), mailing_list=billing, subject=f"Topic {n}", text="x"
        )
    with CaptureQueriesContext(connection) as six_threads:
        page = client.get(billing.get_absolute_url()).content.decode()
    assert len(six_threads) <= len(one_thread)  # no query per thread
    assert page.index("Topic 4") < page.index("Topic 0") < page.index(thread.subject)
    assert "2 messages" in page
    assert "Maria Lopez, Dev Patel" in page


def test_thread_page_folds_quotes_but_keeps_the_full_text(client, billing, thread):
    client.force_login(MemberFactory())
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "We submit the same day." in page
    assert "Show quoted text and signature" in page
    assert "&gt; How do you handle them?" in page  # still there, inside <details>


def test_member_starts_a_thread_from_the_web(client, billing):
    reader = subscribe(billing).user
    member = MemberFactory()
    client.force_login(member)
    assert client.get(f"/discussions/{billing.slug}/new/").status_code == 200
    response = client.post(
        f"/discussions/{billing.slug}/new/",
        {"subject": "Modifier 25", "body": "Do your payers accept it on 96413?"},
    )
    message = Message.objects.get(subject="Modifier 25")
    assert message.status == "published" and message.source == "web"
    assert response.status_code == 302
    assert response.url.startswith(message.thread.get_absolute_url())
    services.message_fan_out(message_id=message.pk)
    services.deliveries_send_batch(message_id=message.pk)
    assert reader.email in {m.to[0] for m in mail.outbox}


def test_web_post_with_patient_details_is_held_with_a_message(client, billing):
    client.force_login(MemberFactory())
    response = client.post(
        f"/discussions/{billing.slug}/new/",
        {"subject": "Denial", "body": "MRN 00482913 was denied again"},
        follow=True,
    )
    assert Message.objects.get().status == "held"
    assert "waiting for a moderator" in response.content.decode()


def test_non_member_cannot_post_or_reply(client, billing, thread):
    client.force_login(UserFactory())
    response = client.post(f"/discussions/{billing.slug}/new/", {"subject": "x", "body": "y"})
    assert response.status_code == 403
    response = client.post(f"/discussions/{billing.slug}/{thread.pk}/reply/", {"body": "y"})
    assert response.status_code == 403
    assert Message.objects.count() == 2


def test_member_replies_on_the_web(client, billing, thread):
    client.force_login(MemberFactory())
    response = client.post(
        f"/discussions/{billing.slug}/{thread.pk}/reply/", {"body": "Thanks, very helpful."}
    )
    assert response.status_code == 302
    reply = Message.objects.get(body_text="Thanks, very helpful.")
    assert reply.thread == thread
    assert reply.subject == f"Re: {thread.subject}"


def test_forms_require_csrf(billing):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(MemberFactory())
    response = client.post(f"/discussions/{billing.slug}/new/", {"subject": "x", "body": "y"})
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_subscription_page_sets_modes_and_leaves(client, billing):
    member = MemberFactory()
    client.force_login(member)
    assert (
        "Delivery for Billing and Coding"
        in client.get("/discussions/subscriptions/").content.decode()
    )
    client.post("/discussions/subscriptions/", {"list": billing.slug, "mode": "weekly"})
    assert Subscription.objects.get(user=member).mode == "weekly"
    client.post("/discussions/subscriptions/", {"list": billing.slug, "mode": ""})
    assert not Subscription.objects.filter(user=member).exists()


def test_non_member_cannot_subscribe_but_keeps_settings_after_a_lapse(client, billing):
    outsider = UserFactory()
    client.force_login(outsider)
    response = client.post("/discussions/subscriptions/", {"list": billing.slug, "mode": "every"})
    assert response.status_code == 403
    assert not Subscription.objects.filter(user=outsider).exists()
    lapsed = subscribe(billing, UserFactory(), mode="daily")
    client.force_login(lapsed.user)
    page = client.get("/discussions/subscriptions/").content.decode()
    assert "not active" in page
    assert Subscription.objects.get(pk=lapsed.pk).mode == "daily"


def test_follow_and_mute_a_thread(client, billing, thread):
    member = MemberFactory()
    client.force_login(member)
    url = f"/discussions/{billing.slug}/{thread.pk}/preference/"
    client.post(url, {"state": "follow"})
    assert ThreadPreference.objects.get(user=member).state == "follow"
    client.post(url, {"state": "mute"})
    assert ThreadPreference.objects.get(user=member).state == "mute"
    client.post(url, {"state": ""})
    assert not ThreadPreference.objects.filter(user=member).exists()


def test_search_finds_messages_only_in_lists_the_reader_may_read(client, billing, thread):
    client.force_login(MemberFactory())
    page = client.get("/discussions/search/", {"q": "submit same"}).content.decode()
    assert "1 message found" in page
    client.force_login(UserFactory())
    page = client.get("/discussions/search/", {"q": "submit"}).content.decode()
    assert "0 messages found" in page


def test_moderation_queue_approve_reject_and_ban(client, billing):
    moderator = MemberFactory()
    billing.moderators.add(moderator)
    outsider = UserFactory()
    held = services.message_create(
        mailing_list=billing,
        user=None,
        from_name="",
        from_email=outsider.email,
        subject="Hello",
        text="Can I post?",
    )
    other = services.message_create(
        mailing_list=billing,
        user=None,
        from_name="",
        from_email="spam@example.net",
        subject="Buy",
        text="now",
    )
    client.force_login(MemberFactory())
    assert client.get("/admin/discussions/moderation/").status_code in (302, 403)
    from django.contrib.auth.models import Permission

    moderator.user_permissions.add(Permission.objects.get(codename="access_admin"))
    second_factor_client(moderator, client)
    page = client.get("/admin/discussions/moderation/").content.decode()
    assert "Sender is not an active member" in page and "Can I post?" in page
    client.post(f"/admin/discussions/moderation/{held.pk}/", {"action": "approve"})
    client.post(f"/admin/discussions/moderation/{other.pk}/", {"action": "ban", "note": "spam"})
    held.refresh_from_db()
    other.refresh_from_db()
    assert held.status == "published" and held.moderated_by == moderator
    assert other.status == "rejected"
    assert billing.bans.filter(email="spam@example.net").exists()
    dashboard = client.get("/admin/").content.decode()
    assert "Discussion lists" in dashboard


def test_attachments_download_for_members_only(client, billing, thread, settings, tmp_path):
    from django.core.files.base import ContentFile

    from discussions.models import Attachment

    settings.MEDIA_ROOT = tmp_path
    item = Attachment.objects.create(
        message=thread.messages.first(),
        file=ContentFile(b"%PDF-1.4 form", name="pa.pdf"),
        filename="pa.pdf",
        content_type="application/pdf",
        size=13,
    )
    url = f"/discussions/attachments/{item.pk}/"
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    client.force_login(MemberFactory())
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="pa.pdf"')
    assert b"".join(response.streaming_content) == b"%PDF-1.4 form"
