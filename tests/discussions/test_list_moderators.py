"""Least privilege on the lists: a list moderator moderates the lists that name them, and
approving pages ("Moderators") gives no say over, nor a look into, any list."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from discussions import services
from discussions.models import Message
from discussions.tasks import send_moderator_notice
from tests.conftest import second_factor_client
from tests.factories import UserFactory

from .helpers import make_list

pytestmark = pytest.mark.django_db


def held_on(mailing_list):
    return services.message_create(
        mailing_list=mailing_list,
        user=None,
        from_name="Stranger",
        from_email="stranger@example.net",
        subject=f"Hello {mailing_list.slug}",
        text="Can I post?",
    )


def in_group(name):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def lists():
    return make_list(), make_list(name="Compliance", slug="compliance")


def test_a_page_approver_reads_no_members_only_archive(client, lists):
    billing, _compliance = lists
    client.force_login(in_group("Moderators"))

    response = client.get(billing.get_absolute_url())

    assert response.status_code == 403


def test_a_page_approver_moderates_no_list(lists):
    billing, _compliance = lists
    message = held_on(billing)
    client = second_factor_client(in_group("Moderators"))

    queue = client.get("/admin/discussions/moderation/")
    client.post(f"/admin/discussions/moderation/{message.pk}/", {"action": "approve"})

    assert queue.status_code == 302  # Wagtail's "no permission", back to the admin home
    message.refresh_from_db()
    assert message.status == Message.Status.HELD


def test_a_page_approver_is_not_sent_held_posts(lists):
    billing, _compliance = lists
    approver = in_group("Moderators")
    named = UserFactory()
    billing.moderators.add(named)

    send_moderator_notice(held_on(billing).pk)

    [notice] = mail.outbox
    assert named.email in notice.to
    assert approver.email not in notice.to


def test_a_list_moderator_moderates_only_the_lists_that_name_them(lists):
    billing, compliance = lists
    moderator = in_group("List moderators")
    billing.moderators.add(moderator)
    own, other = held_on(billing), held_on(compliance)
    client = second_factor_client(moderator)

    queue = client.get("/admin/discussions/moderation/").content.decode()
    refused = client.post(f"/admin/discussions/moderation/{other.pk}/", {"action": "approve"})
    client.post(f"/admin/discussions/moderation/{own.pk}/", {"action": "approve"})

    assert own.subject in queue
    assert other.subject not in queue
    assert refused.status_code in (302, 403)
    other.refresh_from_db()
    own.refresh_from_db()
    assert other.status == Message.Status.HELD
    assert own.status != Message.Status.HELD


def test_a_list_moderator_reads_only_the_archives_of_their_lists(client, lists):
    billing, compliance = lists
    moderator = in_group("List moderators")
    billing.moderators.add(moderator)
    client.force_login(moderator)

    assert client.get(billing.get_absolute_url()).status_code == 200
    assert client.get(compliance.get_absolute_url()).status_code == 403
