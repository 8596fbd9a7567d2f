"""Stripe webhooks: verified, stored once, applied from Stripe's current state.

The events are real: the stand-in produces them while the real stripe library drives a
subscription through joining, renewal, a failed renewal, cancellation and refunds. The tests
then deliver them, signed, to /stripe/webhook/ in different orders and several times over.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time

import pytest
from django.test import Client

from membership import services
from membership.models import Membership, Notice, Payment, StateChange
from payments import gateway
from payments import services as payments_services
from payments.models import StripeEvent
from tests.conftest import wait_for
from tests.factories import PlanFactory, UserFactory

pytestmark = pytest.mark.django_db
State = Membership.State

SUCCESS = "http://testserver/membership/welcome/?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://testserver/membership/join/"


def join(standin, *, user=None, plan=None, card="4242424242424242"):
    """Join through Checkout on the stand-in: returns the membership and the session id."""
    user = user or UserFactory()
    plan = plan or PlanFactory()
    membership = services.membership_prepare(user=user, plan=plan)
    ref = services.membership_checkout(
        membership=membership, success_url=SUCCESS, cancel_url=CANCEL
    )
    standin.pay(ref.id, card=card)
    return membership, ref.id


def subscription_id(session_id):
    return gateway.retrieve_checkout_session(session_id).subscription


def deliver(stripe_webhook, events, django_capture_on_commit_callbacks):
    """POST each event and apply what was stored, as the worker would, in delivery order."""
    statuses = []
    for event in events:
        with django_capture_on_commit_callbacks(execute=False):
            response = stripe_webhook(event)
        statuses.append(response.content.decode())
        assert response.status_code == 200
        payments_services.stripe_event_apply(event_id=event["id"])
    return statuses


def snapshot(membership):
    m = Membership.objects.get(pk=membership.pk)
    return {
        "state": m.state,
        "subscription": (m.stripe_subscription_id, m.stripe_subscription_status),
        "customer": m.stripe_customer_id,
        "period_end": m.current_period_end,
        "auto_renew": m.auto_renew,
        "access_ends_at": m.access_ends_at,
        "grace_started_at": m.grace_started_at,
        "payments": sorted(
            m.payments.values_list(
                "stripe_invoice_id", "status", "amount_cents", "amount_refunded_cents"
            )
        ),
    }


def forget(membership):
    """Put our side back to before any webhook arrived (Stripe's side stays as it is)."""
    StripeEvent.objects.all().delete()
    Payment.objects.all().delete()
    StateChange.objects.all().delete()
    Notice.objects.all().delete()
    Membership.objects.filter(pk=membership.pk).update(
        state=State.PENDING,
        stripe_subscription_id="",
        stripe_subscription_status="",
        current_period_end=None,
        access_ends_at=None,
        grace_started_at=None,
        auto_renew=False,
        started_at=None,
    )


def story_renew_then_fail(standin):
    membership, session = join(standin)
    sub = subscription_id(session)
    standin.advance(sub)  # renews
    standin.advance(sub, fail=True)  # the next renewal is declined: past_due
    return membership


def story_retries_run_out(standin, setting):
    standin.failed_payments = setting
    membership, session = join(standin)
    sub = subscription_id(session)
    for _ in range(4):  # the renewal's charge and its three retries are declined
        standin.advance(sub, fail=True)
    assert (
        gateway.retrieve_subscription(sub).status
        == {
            "cancel": "canceled",
            "unpaid": "unpaid",
        }[setting]
    )
    return membership


def story_retries_end_in_a_cancel(standin):
    return story_retries_run_out(standin, "cancel")


def story_retries_leave_it_unpaid(standin):
    return story_retries_run_out(standin, "unpaid")


def story_cancel_at_period_end(standin):
    membership, session = join(standin)
    sub = subscription_id(session)
    gateway._client().v1.subscriptions.update(sub, params={"cancel_at_period_end": True})
    standin.advance(sub)  # the period ends: the subscription is deleted
    return membership


def story_refunded(standin):
    membership, session = join(standin)
    payment_intent = gateway.retrieve_invoice(
        gateway.retrieve_subscription(subscription_id(session)).latest_invoice.id
    ).payment_intent
    gateway.refund_payment(payment_intent_id=payment_intent, idempotency_key="test-refund")
    return membership


@pytest.mark.parametrize(
    ("story", "final_state"),
    [
        (story_renew_then_fail, State.GRACE),
        (story_retries_end_in_a_cancel, State.GRACE),
        (story_retries_leave_it_unpaid, State.GRACE),
        (story_cancel_at_period_end, State.GRACE),
        (story_refunded, State.CANCELED),
    ],
)
def test_every_event_twice_and_shuffled_ends_in_the_same_state(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks, story, final_state
):
    membership = story(stripe_standin)
    events = stripe_standin.events()
    assert {"checkout.session.completed", "invoice.paid"} <= {e["type"] for e in events}

    deliver(stripe_webhook, events, django_capture_on_commit_callbacks)
    in_order = snapshot(membership)
    assert in_order["state"] == final_state
    assert in_order["payments"]
    if story in (story_retries_end_in_a_cancel, story_retries_leave_it_unpaid):
        # Grace runs from the failed renewal, and nothing renews once Stripe has given up.
        failed = Payment.objects.get(membership=membership, status=Payment.Status.FAILED)
        assert in_order["grace_started_at"] == failed.created_at
        assert in_order["auto_renew"] is False

    for seed in (1, 2, 3):
        forget(membership)
        replay = events * 2
        random.Random(seed).shuffle(replay)  # noqa: S311 - a reproducible test order
        statuses = deliver(stripe_webhook, replay, django_capture_on_commit_callbacks)

        assert snapshot(membership) == in_order
        assert StripeEvent.objects.count() == len(events)
        assert statuses.count("duplicate") == len(events)


def test_renewal_failure_puts_the_member_in_grace_with_one_notice(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    seen = set()

    def deliver_new():
        new = [e for e in stripe_standin.events() if e["id"] not in seen]
        seen.update(e["id"] for e in new)
        deliver(stripe_webhook, new, django_capture_on_commit_callbacks)

    membership, session = join(stripe_standin)
    deliver_new()
    assert Membership.objects.get(pk=membership.pk).state == State.ACTIVE
    stripe_standin.advance(subscription_id(session))
    deliver_new()
    stripe_standin.advance(subscription_id(session), fail=True)
    deliver_new()

    m = Membership.objects.get(pk=membership.pk)
    assert m.state == State.GRACE
    assert m.is_live
    assert m.auto_renew
    assert m.access_ends_at == m.grace_started_at + services.grace_days()
    statuses = sorted(m.payments.values_list("status", flat=True))
    assert statuses == ["failed", "paid", "paid"]
    kinds = sorted(Notice.objects.filter(membership=m).values_list("kind", flat=True))
    assert kinds == ["payment_failed", "welcome"]
    history = list(m.history.order_by("at", "pk").values_list("from_state", "to_state"))
    assert history == [("", "pending"), ("pending", "active"), ("active", "grace")]


def test_late_event_about_an_old_subscription_does_not_undo_a_rejoin(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    membership, first = join(stripe_standin)
    old_sub = subscription_id(first)
    gateway.cancel_subscription(old_sub)  # ended early: canceled
    early = stripe_standin.events()
    deliver(stripe_webhook, early, django_capture_on_commit_callbacks)
    assert Membership.objects.get(pk=membership.pk).state == State.CANCELED

    _, second = join(stripe_standin, user=membership.user)
    later = [e for e in stripe_standin.events() if e["id"] not in {x["id"] for x in early}]
    deliver(stripe_webhook, later, django_capture_on_commit_callbacks)
    # The old subscription's deletion arrives again, late.
    deleted = [e for e in early if e["type"] == "customer.subscription.deleted"]
    StripeEvent.objects.filter(pk__in=[e["id"] for e in deleted]).delete()
    deliver(stripe_webhook, deleted, django_capture_on_commit_callbacks)

    m = Membership.objects.get(pk=membership.pk)
    assert m.state == State.ACTIVE
    assert m.stripe_subscription_id == subscription_id(second) != old_sub
    last = m.history.first()  # newest first
    assert (last.from_state, last.to_state) == (State.CANCELED, State.ACTIVE)


def _event_for(standin, type_):
    return next(e for e in standin.events() if e["type"] == type_)


@pytest.mark.parametrize("attack", ["forged", "stale", "unsigned", "tampered"])
def test_bad_signatures_are_refused_and_change_nothing(stripe_standin, stripe_webhook, attack):
    membership, _ = join(stripe_standin)
    event = _event_for(stripe_standin, "checkout.session.completed")
    before = snapshot(membership)

    if attack == "forged":
        response = stripe_webhook(event, secret="whsec_not_ours")
    elif attack == "stale":
        response = stripe_webhook(event, timestamp=int(time.time()) - 3600)
    elif attack == "unsigned":
        response = Client().post(
            "/stripe/webhook/", data=json.dumps(event), content_type="application/json"
        )
    else:
        signed_for = json.dumps(event)
        from devtools.stripe_standin import sign

        header = sign(signed_for, stripe_standin.webhook_secret)
        evil = json.dumps({**event, "id": "evt_evil"})
        response = Client().post(
            "/stripe/webhook/",
            data=evil,
            content_type="application/json",
            headers={"Stripe-Signature": header},
        )

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert snapshot(membership) == before
    assert before["state"] == State.PENDING


class ConnectionCounter:
    """A TCP port that counts the connections made to it and closes each one at once."""

    def __init__(self):
        self.connections = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return  # closed
            self.connections += 1
            conn.close()

    def close(self):
        self._socket.close()


WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")


def test_webhook_answers_fast_and_only_stores(
    stripe_standin, stripe_webhook, settings, django_assert_max_num_queries
):
    """The endpoint does no Stripe call: Stripe's address gets no connection at all, and each
    event costs one INSERT into the event table. Types nobody handles are kept as done; the
    rest wait for the worker."""
    join(stripe_standin)
    events = stripe_standin.events()
    stripe_standin.stop()
    stripe_side = ConnectionCounter()
    settings.STRIPE_API_BASE = stripe_side.url
    event_table = StripeEvent._meta.db_table

    try:
        for event in events:
            # The site lookup every request makes, and the INSERT in a savepoint.
            with django_assert_max_num_queries(4) as queries:
                assert stripe_webhook(event).status_code == 200
            writes = [
                q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITE_VERBS)
            ]
            assert len(writes) == 1, writes
            assert writes[0].startswith(f'INSERT INTO "{event_table}"'), writes
    finally:
        stripe_side.close()

    assert stripe_side.connections == 0
    assert StripeEvent.objects.count() == len(events)
    handled = [e for e in events if e["type"] in payments_services.HANDLED_EVENTS]
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == len(handled) > 0


def test_stripe_outage_leaves_the_event_for_a_retry(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks, settings
):
    membership, _ = join(stripe_standin)
    event = _event_for(stripe_standin, "checkout.session.completed")
    with django_capture_on_commit_callbacks(execute=False):
        stripe_webhook(event)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    with pytest.raises(gateway.GatewayError):
        payments_services.stripe_event_apply(event_id=event["id"])
    stored = StripeEvent.objects.get(pk=event["id"])
    assert stored.processed_at is None
    assert stored.error

    settings.STRIPE_API_BASE = stripe_standin.url
    assert payments_services.stripe_event_apply(event_id=event["id"]) is True
    assert Membership.objects.get(pk=membership.pk).state == State.ACTIVE


@pytest.mark.e2e
def test_standin_delivers_duplicates_out_of_order_to_the_live_endpoint_and_a_worker_applies_them(
    live_server, stripe_standin, celery_worker
):
    """The whole path with real parts: stand-in → HTTP → our view → broker → worker → Stripe."""
    stripe_standin.set_delivery(duplicate=True, order="shuffle", actions=-1)
    membership, session = join(stripe_standin)
    stripe_standin.advance(subscription_id(session))

    assert stripe_standin.wait_for_webhooks(timeout=20)
    events = stripe_standin.events()
    wait_for(
        lambda: StripeEvent.objects.filter(processed_at__isnull=False).count() == len(events),
        timeout=30,
        message="the worker did not apply every event",
    )
    m = Membership.objects.get(pk=membership.pk)
    assert m.state == State.ACTIVE
    assert m.payments.filter(status=Payment.Status.PAID).count() == 2
    attempts = [d for e in events for d in e["deliveries"]]
    assert len(attempts) >= 2 * len(events)


def test_renewing_by_checkout_while_in_grace_takes_over_and_ends_the_failing_subscription(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks, monkeypatch
):
    from portal.celery import app

    membership, first = join(stripe_standin)
    old_sub = subscription_id(first)
    stripe_standin.advance(old_sub, fail=True)  # renewal declined: past_due, grace
    deliver(stripe_webhook, stripe_standin.events(), django_capture_on_commit_callbacks)
    assert Membership.objects.get(pk=membership.pk).state == State.GRACE
    seen = {e["id"] for e in stripe_standin.events()}

    _, second = join(stripe_standin, user=membership.user)
    # Queued tasks run at once here, so the old subscription is really canceled on Stripe.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    for event in [e for e in stripe_standin.events() if e["id"] not in seen]:
        with django_capture_on_commit_callbacks(execute=True):
            stripe_webhook(event)

    assert gateway.retrieve_subscription(old_sub).status == "canceled"
    late = [e for e in stripe_standin.events() if e["id"] not in seen]
    for event in late:  # including the old subscription's deletion
        with django_capture_on_commit_callbacks(execute=True):
            stripe_webhook(event)
    m = Membership.objects.get(pk=membership.pk)
    assert m.state == State.ACTIVE
    assert m.stripe_subscription_id == subscription_id(second)


def test_one_read_applies_every_event_about_the_object_that_had_arrived(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    """The subscription's created and updated events: the apply of the first re-reads the
    subscription, which covers the second (it had arrived before the read); the second's own
    task then finds it done. An event arriving after the read is applied by itself."""
    from datetime import timedelta

    from django.utils import timezone

    membership, session = join(stripe_standin)
    sub_events = [
        e for e in stripe_standin.events() if e["type"].startswith("customer.subscription.")
    ]
    assert [e["type"] for e in sub_events] == [
        "customer.subscription.created",
        "customer.subscription.updated",
    ]
    for event in sub_events:
        with django_capture_on_commit_callbacks(execute=False):
            assert stripe_webhook(event).status_code == 200
    # They arrived a while ago (the check leaves room for clocks that disagree).
    StripeEvent.objects.update(received_at=timezone.now() - timedelta(minutes=1))
    first, second = (e["id"] for e in sub_events)
    stripe_standin.requests.clear()

    assert payments_services.stripe_event_apply(event_id=first) is True
    assert payments_services.stripe_event_apply(event_id=second) is False  # already covered

    assert len(stripe_standin.requests) == 1  # one read of the subscription
    rows = {e.id: e for e in StripeEvent.objects.all()}
    assert (rows[first].covered_by, rows[second].covered_by) == ("", first)
    assert rows[second].processed_at == rows[first].processed_at
    assert Membership.objects.get(pk=membership.pk).state == State.ACTIVE

    stripe_standin.advance(subscription_id(session))  # a renewal: new events, after the read
    later = list(stripe_standin.events("customer.subscription.updated"))[-1]
    with django_capture_on_commit_callbacks(execute=False):
        stripe_webhook(later)
    assert payments_services.stripe_event_apply(event_id=later["id"]) is True
    assert StripeEvent.objects.get(pk=later["id"]).covered_by == ""


@pytest.mark.parametrize(
    "first_type", ["checkout.session.completed", "customer.subscription.created"]
)
def test_a_checkout_and_the_subscription_it_started_are_applied_by_one_read(
    first_type, stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    """Whichever comes first covers the other: a subscription Checkout only starts its
    subscription, read with the session in one request."""
    membership, session = join(stripe_standin)
    wanted = ("checkout.session.completed", "customer.subscription.", "invoice.paid")
    events = [e for e in stripe_standin.events() if e["type"].startswith(wanted)]
    for event in events:
        with django_capture_on_commit_callbacks(execute=False):
            assert stripe_webhook(event).status_code == 200
    first = next(e["id"] for e in events if e["type"] == first_type)
    stripe_standin.requests.clear()

    assert payments_services.stripe_event_apply(event_id=first) is True

    assert len(stripe_standin.requests) == 1
    rows = StripeEvent.objects.filter(pk__in=[e["id"] for e in events])
    assert {row.covered_by for row in rows if row.pk != first} == {first}
    assert all(row.processed_at for row in rows)
    for event in events:  # a redelivery's task finds nothing left to do
        assert payments_services.stripe_event_apply(event_id=event["id"]) is False
    m = Membership.objects.get(pk=membership.pk)
    assert m.state == State.ACTIVE
    assert m.stripe_subscription_id == subscription_id(session)
    assert m.payments.get().status == "paid"
    assert StateChange.objects.filter(membership=m, to_state="active").count() == 1


def test_an_invoice_event_reads_only_the_subscription_when_it_is_the_latest_invoice(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    membership, _session = join(stripe_standin)
    paid = stripe_standin.events("invoice.paid")[-1]
    with django_capture_on_commit_callbacks(execute=False):
        stripe_webhook(paid)
    stripe_standin.requests.clear()

    assert payments_services.stripe_event_apply(event_id=paid["id"]) is True

    assert [path.split("/")[2] for _, path in stripe_standin.requests] == ["subscriptions"]
    m = Membership.objects.get(pk=membership.pk)
    assert m.state == State.ACTIVE
    assert list(m.payments.values_list("stripe_invoice_id", "status")) == [
        (paid["data"]["object"]["id"], "paid")
    ]


def test_an_invoice_that_is_not_the_latest_is_read_by_itself(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    _membership, session = join(stripe_standin)
    first_paid = stripe_standin.events("invoice.paid")[-1]
    stripe_standin.advance(subscription_id(session))  # a newer invoice is the latest now
    with django_capture_on_commit_callbacks(execute=False):
        stripe_webhook(first_paid)
    stripe_standin.requests.clear()

    assert payments_services.stripe_event_apply(event_id=first_paid["id"]) is True

    assert [path.split("/")[2] for _, path in stripe_standin.requests] == [
        "subscriptions",
        "invoices",
    ]
    assert Payment.objects.filter(stripe_invoice_id=first_paid["data"]["object"]["id"]).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_applying_one_subscription_take_turns_and_read_it_once(stripe_standin):
    """The created and updated events of one subscription, applied at the same moment by two
    threads: the second waits for the first (an advisory lock, no transaction open during the
    read), then finds itself covered by the first's read."""
    from datetime import UTC, datetime, timedelta

    from django.db import connection
    from django.utils import timezone

    membership, _session = join(stripe_standin)
    events = [e for e in stripe_standin.events() if e["type"].startswith("customer.subscription.")]
    for e in events:
        StripeEvent.objects.create(
            id=e["id"],
            type=e["type"],
            object_id=e["data"]["object"]["id"],
            created=datetime.fromtimestamp(e["created"], tz=UTC),
            received_at=timezone.now() - timedelta(minutes=1),
            payload=e,
        )
    stripe_standin.requests.clear()
    start = threading.Barrier(len(events))
    results = {}

    def apply(event_id):
        start.wait()
        try:
            results[event_id] = payments_services.stripe_event_apply(event_id=event_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=apply, args=(e["id"],)) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(results.values()) == [False, True]
    assert len(stripe_standin.requests) == 1
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert StripeEvent.objects.exclude(covered_by="").count() == 1
    assert Membership.objects.get(pk=membership.pk).state == State.ACTIVE


def test_a_subscription_read_covers_the_events_of_its_latest_invoice(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    membership, _session = join(stripe_standin)
    paid = stripe_standin.events("invoice.paid")[-1]
    updated = stripe_standin.events("customer.subscription.updated")[-1]
    for event in (paid, updated):
        with django_capture_on_commit_callbacks(execute=False):
            stripe_webhook(event)
    StripeEvent.objects.update(received_at=timezone.now() - timedelta(minutes=1))

    assert payments_services.stripe_event_apply(event_id=updated["id"]) is True
    assert payments_services.stripe_event_apply(event_id=paid["id"]) is False

    assert StripeEvent.objects.get(pk=paid["id"]).covered_by == updated["id"]
    m = Membership.objects.get(pk=membership.pk)
    assert m.state == State.ACTIVE
    assert list(m.payments.values_list("stripe_invoice_id", "status")) == [
        (paid["data"]["object"]["id"], "paid")
    ]
