"""Daily and weekly digests: one per subscriber per list, only with news, sent once."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from discussions import services
from discussions.models import Digest, Message
from discussions.tasks import digests_prepare, send_digest
from tests.factories import MemberFactory

from .helpers import make_list, subscribe

pytestmark = pytest.mark.django_db


def publish(mailing_list, subject, hours_ago=1):
    message = services.message_post_web(
        user=MemberFactory(), mailing_list=mailing_list, subject=subject, text=f"About {subject}."
    )
    Message.objects.filter(pk=message.pk).update(
        published_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )
    return message


def test_daily_digest_has_a_table_of_contents_then_the_messages_in_text_and_html():
    billing = make_list()
    reader = subscribe(billing, mode="daily").user
    subscribe(billing, mode="every")
    subscribe(billing, mode="weekly")
    publish(billing, "Modifier 25 audits")
    publish(billing, "Biologics buy and bill")
    publish(billing, "Old news", hours_ago=30)  # before this digest's day

    digest_ids = services.digests_prepare(frequency="daily")
    assert len(digest_ids) == 1
    send_digest(digest_ids[0])
    send_digest(digest_ids[0])  # a redelivered task sends nothing more

    [email] = mail.outbox
    assert email.to == [reader.email]
    assert "Daily digest" in email.subject and "(2 messages)" in email.subject
    msg = email.message()
    text = msg.get_payload()[0].get_payload(decode=True).decode()
    html = email.alternatives[0].content
    toc, _, rest = text.partition("----")
    assert "1. Modifier 25 audits" in toc and "2. Biologics buy and bill" in toc
    assert "About Modifier 25 audits." in rest
    assert "Old news" not in text
    assert "<ol" in html and "About Biologics buy and bill." in html
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"].startswith("<digest.")


def test_digest_is_skipped_when_there_is_nothing_new_and_never_repeats():
    billing = make_list()
    subscribe(billing, mode="daily")
    assert services.digests_prepare(frequency="daily") == []
    publish(billing, "Something")
    assert len(services.digests_prepare(frequency="daily")) == 1
    assert services.digests_prepare(frequency="daily") == []  # already covered
    assert Digest.objects.count() == 1


def test_weekly_digest_covers_the_week_and_lapsed_members_get_none():
    billing = make_list()
    weekly = subscribe(billing, mode="weekly")
    from tests.factories import UserFactory

    subscribe(billing, UserFactory(), mode="weekly")
    publish(billing, "Monday", hours_ago=24 * 6)
    publish(billing, "Today")
    ids = services.digests_prepare(frequency="weekly")
    assert [Digest.objects.get(pk=pk).subscription for pk in ids] == [weekly]
    assert Digest.objects.get().message_count == 2


def test_beat_task_prepares_and_queues(settings):
    billing = make_list()
    subscribe(billing, mode="daily")
    publish(billing, "Hello")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from portal.celery import app

    app.conf.task_always_eager = True
    try:
        assert digests_prepare("daily") == 1
    finally:
        app.conf.task_always_eager = False
    assert len(mail.outbox) == 1
