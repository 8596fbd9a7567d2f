"""Committee and board lists: joining by request or invitation, permitted senders, and an
archive (threads, attachments, search) that only subscribers and moderators can read; for
everyone else such a list does not exist (404), checked for every role."""

import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from discussions.models import (
    Attachment,
    Invitation,
    JoinRequest,
    MailingList,
    Message,
    Subscription,
)
from discussions.services import hold_reasons, invitation_read, invitation_token, message_post_web
from tests.conftest import second_factor_client, wait_for
from tests.factories import MemberFactory, StaffFactory, UserFactory

from .helpers import make_list, subscribe

pytestmark = pytest.mark.django_db


def _board(joining=MailingList.Joining.INVITATION, **kwargs):
    board = make_list(
        name="Board", slug="board", description="The board's own list.", joining=joining, **kwargs
    )
    subscriber = MemberFactory(first_name="Sam", last_name="Chair")
    subscribe(board, subscriber)
    message = message_post_web(
        user=subscriber, mailing_list=board, subject="Budget vote Thursday", text="Agenda."
    )
    assert message.status == Message.Status.PUBLISHED
    attachment = Attachment.objects.create(
        message=message,
        file=ContentFile(b"%PDF-1.4 budget", name="budget.pdf"),
        filename="budget.pdf",
        content_type="application/pdf",
        size=15,
    )
    return board, subscriber, message, attachment


def _client(client, role, board):
    """A client for a role: (client, may read the board's archive)."""
    if role == "anonymous":
        return client, False
    if role == "non-member":
        client.force_login(UserFactory())
        return client, False
    if role == "member":
        client.force_login(MemberFactory())
        return client, False
    if role == "lapsed subscriber":
        lapsed = UserFactory()
        Subscription.objects.create(user=lapsed, mailing_list=board)
        client.force_login(lapsed)
        return client, False
    if role == "subscriber":
        member = MemberFactory()
        subscribe(board, member, mode=Subscription.Mode.WEB)
        client.force_login(member)
        return client, True
    if role == "moderator":
        moderator = MemberFactory()
        board.moderators.add(moderator)
        client.force_login(moderator)
        return client, True
    if role == "staff":
        # Staff without the right to change messages moderate nothing: no archive either.
        return second_factor_client(StaffFactory(), client), False
    if role == "superuser":
        return second_factor_client(StaffFactory(is_superuser=True), client), True
    raise AssertionError(role)


ROLES = [
    "anonymous",
    "non-member",
    "member",
    "lapsed subscriber",
    "subscriber",
    "moderator",
    "staff",
    "superuser",
]


@pytest.mark.parametrize("joining", [MailingList.Joining.INVITATION, MailingList.Joining.REQUEST])
@pytest.mark.parametrize("role", ROLES)
def test_a_committee_archive_is_readable_by_its_subscribers_and_moderators_only(
    client, role, joining
):
    board, _sub, message, attachment = _board(joining=joining)
    client, may_read = _client(client, role, board)
    thread_url = message.thread.get_absolute_url()
    urls = [
        thread_url,
        reverse("discussions:attachment", kwargs={"pk": attachment.pk}),
        reverse("discussions:thread-new", kwargs={"slug": "board"}),
    ]
    for url in urls:
        response = client.get(url)
        if may_read:
            # A superuser who is no member reads, but does not post: the members-only page.
            assert response.status_code == (403 if role == "superuser" and "new" in url else 200)
        elif role == "anonymous" and url.endswith("/new/"):
            # Log in first, as for any list name at all: that says nothing about this one.
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 404, (url, response.status_code)
    # Posting a reply or changing the thread's preference: the same 404.
    for name in ("reply", "thread-preference"):
        response = client.post(
            reverse(f"discussions:{name}", kwargs={"slug": "board", "pk": message.thread_id}),
            {"body": "x", "state": "mute"},
        )
        allowed = (302, 403) if role == "superuser" else (302,) if may_read else (404, 302)
        assert response.status_code in allowed, name
        if not may_read and response.status_code == 302:
            assert "/accounts/login/" in response["Location"]  # anonymous: log in first
    search = client.get(reverse("discussions:search"), {"q": "budget"})
    assert search.status_code == 200
    assert (thread_url.encode() in search.content) is may_read
    index = client.get(reverse("discussions:index"))
    page = client.get(reverse("discussions:list", kwargs={"slug": "board"}))
    # The list itself: shown to those who read it, and (to ask) to members of a by-request list.
    sees = may_read or (joining == "request" and role in {"member"})
    assert (b"The board&#x27;s own list." in index.content) is sees
    assert page.status_code == (200 if sees else 404)
    assert (b"Budget vote Thursday" in page.content) is may_read
    if role == "member" and joining == "request":
        assert b"Ask to join" in page.content


def test_an_invited_member_sees_the_list_and_joins_by_the_signed_link_only(client, smtp_server):
    board, _sub, message, _a = _board()
    moderator = MemberFactory(first_name="Mo", last_name="Derator")
    board.moderators.add(moderator)
    invited = MemberFactory()
    other = MemberFactory()
    client.force_login(moderator)
    response = client.post(
        reverse("discussions:members", kwargs={"slug": "board"}),
        {"action": "invite", "email": invited.email},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(user=invited)
    token = invitation_token(invitation)
    url = reverse("discussions:invitation", kwargs={"token": token})
    # An invitation for someone else, or a forged link, is a 404 and changes nothing.
    client.force_login(other)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert client.get(reverse("discussions:list", kwargs={"slug": "board"})).status_code == 404
    client.force_login(invited)
    assert client.post(url[:-3] + "xx/").status_code == 404
    assert not Subscription.objects.filter(user=invited, mailing_list=board).exists()
    page = client.get(reverse("discussions:list", kwargs={"slug": "board"}))
    assert page.status_code == 200 and b"You are invited" in page.content
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert Subscription.objects.filter(user=invited, mailing_list=board).exists()
    assert client.get(message.thread.get_absolute_url()).status_code == 200
    # Subscribing without an invitation does nothing for the other member.
    client.force_login(other)
    client.post(reverse("discussions:subscribe", kwargs={"slug": "board"}))
    client.post(reverse("discussions:subscriptions"), {"list": "board", "mode": "every"})
    assert not Subscription.objects.filter(user=other, mailing_list=board).exists()


def test_the_invitation_mail_carries_the_signed_link(celery_worker, smtp_server, settings):
    settings.SITE_URL = "https://portal.norm.test"
    board = make_list(name="Board", slug="board", joining=MailingList.Joining.INVITATION)
    moderator = MemberFactory()
    board.moderators.add(moderator)
    invited = MemberFactory()
    from discussions.services import invitation_create

    invitation = invitation_create(mailing_list=board, user=invited, moderator=moderator)
    mail = smtp_server.wait_for(1)[0]
    assert mail.rcpt_tos == [invited.email]
    text = mail.message.get_body(("plain",)).get_content()
    # The token is signed with a timestamp, so one made now may differ from the mail's by a
    # second: read the link's token back instead of comparing it with a fresh one.
    link = re.search(r"https://portal\.norm\.test/discussions/invitations/([^/\s]+)/", text)
    assert link is not None
    assert invitation_read(link.group(1)) == invitation
    wait_for(lambda: Invitation.objects.get(pk=invitation.pk).sent_at)


def test_join_by_request_moderator_approves_or_declines_and_the_requester_is_told(
    client, celery_worker, smtp_server
):
    board = make_list(name="Board", slug="board", joining=MailingList.Joining.REQUEST)
    moderator = MemberFactory(email="mod@example.org")
    board.moderators.add(moderator)
    asker, declined = MemberFactory(), MemberFactory()
    for member in (asker, declined):
        client.force_login(member)
        response = client.post(
            reverse("discussions:join-request", kwargs={"slug": "board"}), {"note": "Treasurer"}
        )
        assert response.status_code == 302
        client.post(reverse("discussions:join-request", kwargs={"slug": "board"}))  # again
    assert JoinRequest.objects.filter(status="pending").count() == 2
    to_moderator = smtp_server.wait_for(2)
    assert {tuple(m.rcpt_tos) for m in to_moderator} == {("mod@example.org",)}
    assert not Subscription.objects.filter(mailing_list=board).exists()
    # A member who is not a moderator cannot open the members page or decide.
    page = reverse("discussions:members", kwargs={"slug": "board"})
    assert client.get(page).status_code == 404
    request = JoinRequest.objects.get(user=asker)
    assert client.post(page, {"action": "approve", "request": request.pk}).status_code == 404
    client.force_login(moderator)
    assert client.get(page).status_code == 200
    assert client.post(page, {"action": "approve", "request": request.pk}).status_code == 302
    other = JoinRequest.objects.get(user=declined)
    assert client.post(page, {"action": "decline", "request": other.pk}).status_code == 302
    assert client.post(page, {"action": "approve", "request": other.pk}).status_code == 302
    assert client.post(page, {"action": "approve", "request": "x'"}).status_code == 404
    assert client.post(page, {"action": "nonsense"}).status_code == 400
    assert Subscription.objects.filter(mailing_list=board).get().user == asker
    received = smtp_server.wait_for(4)
    told = {m.rcpt_tos[0]: m.message["Subject"] for m in received[2:]}
    assert told == {
        asker.email: "Welcome to Board",
        declined.email: "Your request to join Board",
    }
    wait_for(lambda: JoinRequest.objects.filter(requester_notified_at__isnull=False).count() == 2)
    assert len(smtp_server.received) == 4


def test_permitted_senders():
    board = make_list(name="Board", slug="board", joining=MailingList.Joining.REQUEST)
    subscriber, outsider, named, moderator = (MemberFactory() for _ in range(4))
    subscribe(board, subscriber)
    board.moderators.add(moderator)

    def reasons(user):
        return hold_reasons(user=user, mailing_list=board, subject="Hi", text="Hello")

    assert reasons(subscriber) == []
    assert reasons(moderator) == []
    assert reasons(outsider) == ["Only this list's subscribers post to it"]
    board.posting = MailingList.Posting.NAMED
    board.save()
    board.allowed_senders.add(named)
    assert reasons(named) == []
    assert reasons(moderator) == []
    assert reasons(subscriber) == ["Only named members post to this list"]
    board.posting = MailingList.Posting.MODERATORS
    board.save()
    assert reasons(subscriber) == ["Only moderators post to this list"]
    assert reasons(moderator) == []
