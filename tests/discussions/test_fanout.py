"""Fan-out: who gets a copy, what it looks like, and what happens when SMTP says no."""

import datetime as dt

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from discussions import services
from discussions.models import Bounce, Delivery, Message, Subscription, ThreadPreference
from discussions.services.common import unsubscribe_token_read
from tests.conftest import SMTPRecorder, free_port
from tests.factories import MemberFactory, UserFactory

from .helpers import make_list, subscribe

pytestmark = pytest.mark.django_db


def post(mailing_list, author=None, **kwargs):
    author = author or MemberFactory(first_name="Maria", last_name="Lopez")
    return services.message_post_web(
        user=author,
        mailing_list=mailing_list,
        subject=kwargs.pop("subject", "Prior authorizations"),
        text=kwargs.pop("text", "How do you handle them?"),
        **kwargs,
    )


def deliver(message):
    services.message_fan_out(message_id=message.pk)
    while services.deliveries_send_batch(message_id=message.pk):
        pass


def test_recipients_follow_modes_mutes_follows_bounces_and_membership():
    billing = make_list()
    every = subscribe(billing).user
    muted = subscribe(billing).user
    digest = subscribe(billing, mode=Subscription.Mode.DAILY).user
    web_follower = subscribe(billing, mode=Subscription.Mode.WEB).user
    paused = subscribe(billing, delivery_disabled_at=timezone.now()).user
    lapsed = subscribe(billing, UserFactory()).user
    message = post(billing)
    ThreadPreference.objects.create(user=muted, thread=message.thread, state="mute")
    ThreadPreference.objects.create(user=web_follower, thread=message.thread, state="follow")
    ThreadPreference.objects.create(user=lapsed, thread=message.thread, state="follow")
    recipients = set(services.recipients_for(message))
    assert recipients == {every, web_follower}
    assert not {muted, digest, paused, lapsed} & recipients


def test_list_copy_rewrites_from_for_dmarc_and_hides_the_authors_address():
    billing = make_list()
    reader = subscribe(billing).user
    message = post(billing)
    deliver(message)
    [copy] = [m for m in mail.outbox if m.to == [reader.email]]
    msg = copy.message()
    assert msg["From"] == "Maria Lopez via Billing and Coding <billing@lists.norm.local>"
    assert msg["Reply-To"] == "billing@lists.norm.local"
    # The author stays reachable through the private reply address, never her own.
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    headers = "".join(f"{k}: {v}\n" for k, v in msg.items())
    assert not [part for part in (headers, text, html) if message.from_email in part]
    assert "billing+reply-" in text and "billing+reply-" in html
    assert msg["Sender"] is None or "billing" in msg["Sender"]


def test_fan_out_twice_sends_each_copy_once():
    billing = make_list()
    readers = [subscribe(billing).user for _ in range(3)]
    message = post(billing)
    deliver(message)
    deliver(message)
    services.message_fan_out(message_id=message.pk)
    assert Delivery.objects.filter(message=message).count() == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in readers)


def test_each_copy_carries_its_own_working_unsubscribe_token():
    billing = make_list()
    readers = {subscribe(billing).user.pk for _ in range(2)}
    deliver(post(billing))
    tokens = {m.message()["List-Unsubscribe"].strip().rsplit("/", 2)[-2] for m in mail.outbox}
    assert {unsubscribe_token_read(t)[1] for t in tokens} == readers


def test_reply_from_the_web_keeps_in_reply_to_and_references():
    billing = make_list()
    subscribe(billing)
    question = post(billing)
    answer = post(billing, parent=question, subject="", text="We call the payer.")
    deliver(answer)
    msg = mail.outbox[-1].message()
    assert msg["In-Reply-To"] == question.list_message_id
    assert question.list_message_id in msg["References"]
    assert msg["Subject"] == "[Billing and Coding] Re: Prior authorizations"


class PickySMTP(SMTPRecorder):
    """Says 451 to temp@, 550 5.1.1 to gone@, 550 5.7.1 to policy@, accepts the rest."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("temp"):
            return "451 4.3.0 Try again later"
        if local.startswith("gone"):
            return "550 5.1.1 No such user"
        if local.startswith("policy"):
            return "550 5.7.1 Rejected by policy"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def picky_smtp(settings):
    recorder = PickySMTP(host="127.0.0.1", port=free_port())
    controller = Controller(recorder, hostname=recorder.host, port=recorder.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = recorder.host, recorder.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER = False, ""
    yield recorder
    controller.stop()


def test_temporary_failures_retry_with_backoff_and_permanent_ones_are_recorded(picky_smtp):
    billing = make_list()
    ok = subscribe(billing, MemberFactory(username="fine")).user
    temp = subscribe(billing, MemberFactory(username="temp")).user
    gone = subscribe(billing, MemberFactory(username="gone")).user
    policy = subscribe(billing, MemberFactory(username="policy")).user
    message = post(billing)
    deliver(message)

    rows = {d.recipient_id: d for d in Delivery.objects.filter(message=message)}
    assert rows[ok.pk].status == "sent"
    assert rows[temp.pk].status == "pending"
    assert rows[temp.pk].next_attempt_at > timezone.now()
    assert rows[temp.pk].last_error.startswith("451")
    assert rows[gone.pk].status == "failed"
    assert rows[policy.pk].status == "failed"
    assert [r for m in picky_smtp.received for r in m.rcpt_tos] == [ok.email]
    kinds = dict(Bounce.objects.values_list("email", "kind"))
    assert kinds == {gone.email: "hard", policy.email: "policy"}

    # The retry is due later, not now; once due, the sweeper sends it again (and again 451).
    assert services.deliveries_send_batch(message_id=message.pk) == 0
    Delivery.objects.filter(pk=rows[temp.pk].pk).update(next_attempt_at=timezone.now())
    services.deliveries_send_batch(message_id=message.pk)
    rows[temp.pk].refresh_from_db()
    assert rows[temp.pk].attempts == 2
    assert rows[temp.pk].next_attempt_at - timezone.now() > dt.timedelta(minutes=1)


def test_retries_give_up_after_days_and_record_failure(picky_smtp):
    billing = make_list()
    temp = subscribe(billing, MemberFactory(username="temp2")).user
    message = post(billing)
    Message.objects.filter(pk=message.pk).update(published_at=timezone.now() - dt.timedelta(days=5))
    deliver(message)
    row = Delivery.objects.get(recipient=temp)
    assert row.status == "failed"
    assert "gave up" in row.last_error


def test_sweeper_returns_stale_claims_and_leaves_fresh_ones(settings):
    billing = make_list()
    for _ in range(3):
        subscribe(billing)
    message = post(billing)
    services.message_fan_out(message_id=message.pk)
    claimed = services.deliveries_claim(message_id=message.pk, limit=2)
    assert len(claimed) == 2
    assert services.deliveries_sweep(claim_timeout=600)["returned"] == 0
    Delivery.objects.filter(status="claimed").update(
        claimed_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert services.deliveries_sweep(claim_timeout=600)["returned"] == 2
    assert Delivery.objects.filter(status="pending").count() == 3


def test_held_message_is_not_fanned_out_until_approved():
    billing = make_list()
    reader = subscribe(billing).user
    message = post(billing, text="Patient Jane Doe DOB 01/02/1950 needs a PA")
    assert message.status == "held"
    assert services.message_fan_out(message_id=message.pk) == 0
    moderator = MemberFactory()
    services.message_approve(message=message, moderator=moderator)
    deliver(message)
    assert [m.to for m in mail.outbox] == [[reader.email]]
