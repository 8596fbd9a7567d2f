"""Moderators are told about held posts by mail and may answer "approve" or "reject"."""

import pytest
from django.core import mail

from discussions import services
from discussions.models import Message
from discussions.services.common import moderation_address
from discussions.tasks import send_moderator_notice
from tests.factories import MemberFactory, UserFactory

from .helpers import authentication_results, make_list, raw_mail

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


def answer(billing, sender, to, body, **kwargs):
    raw = raw_mail(
        sender=sender.email, to=to, subject="Re: Held for moderation", body=body, **kwargs
    )
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


@pytest.mark.parametrize(
    "proof",
    [
        {"authenticated": False},
        # What anyone can write into their own message: our MTA's verdict, as a lower header.
        {
            "authenticated": False,
            "headers": {
                "Received": "from evil.test by relay.evil.test; Tue, 12 May 2026 09:00:00 -0500",
                "X-Relay": "1",
            },
        },
    ],
)
def test_a_forged_moderator_from_line_cannot_approve(held, proof):
    _billing, moderator, message = held
    raw = raw_mail(
        sender=moderator.email,
        to=moderation_address(message),
        subject="Re: Held for moderation",
        body="approve",
        **proof,
    )
    if "headers" in proof:
        forged = authentication_results(moderator.email)
        raw = (
            b"Received: from evil.test by mx.lists.norm.local; Tue, 12 May 2026\r\n"
            + raw.replace(b"X-Relay: 1", f"Authentication-Results: {forged}".encode())
        )
    inbound = services.inbound_store(
        raw=raw, mail_from=moderator.email, rcpt_to=moderation_address(message)
    )
    services.inbound_ingest(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == "rejected"
    assert "not verified" in inbound.detail
    assert Message.objects.get(pk=message.pk).status == "held"


def test_moderation_reply_addresses_carry_an_unguessable_per_message_token(held):
    billing, moderator, message = held
    other = services.message_create(
        mailing_list=billing,
        user=None,
        from_name="Other",
        from_email="other@example.net",
        subject="Another",
        text="Hi.",
    )
    first, second = moderation_address(message), moderation_address(other)
    assert first != second
    token = first.split("+", 1)[1].split("@")[0]
    assert len(token.split("-", 1)[1]) >= 24
    # The token for one post does not work for another.
    swapped = first.replace(f"+{message.pk}-", f"+{other.pk}-")
    assert answer(billing, moderator, swapped, "approve").status == "rejected"
    assert Message.objects.get(pk=other.pk).status == "held"
