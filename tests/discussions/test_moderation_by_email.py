"""Moderators are told about held posts by mail and may answer "approve" or "reject"."""

import pytest
from django.core import mail

from discussions import services
from discussions.models import Message
from discussions.services.common import moderation_address
from discussions.tasks import send_moderator_notice
from tests.factories import MemberFactory, UserFactory

from .helpers import make_list, raw_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def held():
    billing = make_list()
    moderator = MemberFactory(first_name="Monica")
    billing.moderators.add(moderator)
    message = services.message_create(
        mailing_list=billing,
        user=None,
        from_name="Stranger",
        from_email="stranger@example.net",
        subject="Can I join the conversation?",
        text="Hello all.",
    )
    return billing, moderator, message


def answer(billing, sender, to, body):
    raw = raw_mail(sender=sender.email, to=to, subject="Re: Held for moderation", body=body)
    inbound = services.inbound_store(raw=raw, mail_from=sender.email, rcpt_to=to)
    services.inbound_ingest(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


def test_moderators_get_a_notice_that_they_can_answer(held):
    _billing, moderator, message = held
    send_moderator_notice(message.pk)
    send_moderator_notice(message.pk)
    [notice] = mail.outbox
    assert moderator.email in notice.to
    assert notice.reply_to == [moderation_address(message)]
    assert "Sender is not an active member" in notice.body


def test_moderator_approves_by_replying(held):
    billing, moderator, message = held
    inbound = answer(billing, moderator, moderation_address(message), "Approve\n\n> quoted")
    message.refresh_from_db()
    assert message.status == "published"
    assert message.moderated_by == moderator
    assert "approved" in inbound.detail


def test_moderator_rejects_with_a_note(held):
    billing, moderator, message = held
    answer(billing, moderator, moderation_address(message), "reject Please join NORM first.")
    message.refresh_from_db()
    assert message.status == "rejected"
    assert message.moderation_note == "Please join NORM first."


def test_only_moderators_with_a_valid_token_can_decide(held):
    billing, _moderator, message = held
    outsider = UserFactory()
    assert answer(billing, outsider, moderation_address(message), "approve").status == "rejected"
    forged = moderation_address(message).replace("-moderate+", "-moderate+9").lower()
    assert answer(billing, outsider, forged, "approve").status in {"rejected", "discarded"}
    assert Message.objects.get(pk=message.pk).status == "held"
