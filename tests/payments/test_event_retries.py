"""A webhook event whose apply fails is retried with backoff a bounded number of times, then
parked as failed, listed for staff, and never queued again by the beat job until staff retry it."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from payments import services, tasks
from payments.models import StripeEvent
from tests.conftest import second_factor_client, wait_for
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _missing_session_event(event_id="evt_test_missing_session"):
    """A signed event for a Checkout Session the stand-in does not have: every apply fails."""
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {"object": {"id": "cs_test_nosuchsession", "object": "checkout.session"}},
    }


def _fail_once(event_id):
    with pytest.raises(Exception):  # noqa: B017 whatever the stand-in's 404 becomes
        services.stripe_event_apply(event_id=event_id)
    return StripeEvent.objects.get(pk=event_id)


def test_failing_event_backs_off_then_is_parked_and_the_beat_leaves_it(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks, settings
):
    settings.STRIPE_EVENT_MAX_ATTEMPTS = 4
    settings.STRIPE_EVENT_RETRY_SECONDS = 60
    event = _missing_session_event()
    with django_capture_on_commit_callbacks(execute=False):
        assert stripe_webhook(event).status_code == 200

    delays = []
    for attempt in range(1, 4):
        before = timezone.now()
        stored = _fail_once(event["id"])
        assert (stored.attempts, stored.failed_at, stored.status) == (attempt, None, "pending")
        assert "Error" in stored.error
        delays.append(round((stored.next_attempt_at - before).total_seconds() / 60))
        # Not due before its time: the beat does not queue it.
        assert services.stripe_events_due(lost_after=timedelta(minutes=2)) == []
        assert event["id"] in services.stripe_events_due(
            now=stored.next_attempt_at + timedelta(seconds=1), lost_after=timedelta(minutes=2)
        )
    assert delays == [1, 2, 4]

    stored = _fail_once(event["id"])
    assert stored.attempts == 4
    assert stored.failed_at is not None
    assert stored.status == "failed"
    assert stored.next_attempt_at is None

    # Parked: the beat job never queues it again, and applying it does nothing.
    far = timezone.now() + timedelta(days=30)
    assert services.stripe_events_due(now=far, lost_after=timedelta(minutes=2)) == []
    StripeEvent.objects.filter(pk=event["id"]).update(received_at=far - timedelta(days=60))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.stripe_events_retry() == 0
    assert services.stripe_event_apply(event_id=event["id"]) is False
    assert StripeEvent.objects.get(pk=event["id"]).attempts == 4


def test_beat_requeues_a_lost_event_once_not_every_run(
    stripe_standin, stripe_webhook, django_capture_on_commit_callbacks
):
    event = _missing_session_event("evt_test_lost_task")
    with django_capture_on_commit_callbacks(execute=False):  # the apply task is lost
        stripe_webhook(event)
    StripeEvent.objects.filter(pk=event["id"]).update(
        received_at=timezone.now() - timedelta(minutes=10)
    )
    assert services.stripe_events_due(lost_after=timedelta(minutes=2)) == [event["id"]]
    # Claimed: the next beat run, a minute later, does not queue it a second time.
    assert services.stripe_events_due(lost_after=timedelta(minutes=2)) == []


@pytest.mark.e2e
def test_worker_retries_a_failing_event_until_parked_and_staff_see_and_retry_it(
    stripe_standin, stripe_webhook, celery_worker, settings
):
    settings.STRIPE_EVENT_MAX_ATTEMPTS = 3
    settings.STRIPE_EVENT_RETRY_SECONDS = 0  # due again at once, so the beat runs below count
    event = _missing_session_event("evt_test_worker_parks")
    assert stripe_webhook(event).status_code == 200

    def attempts():
        return StripeEvent.objects.get(pk=event["id"]).attempts

    wait_for(lambda: attempts() == 1, message="the worker's first attempt")
    for expected in (2, 3):
        assert tasks.stripe_events_retry() == 1
        wait_for(lambda n=expected: attempts() == n, message=f"attempt {expected}")
    parked = StripeEvent.objects.get(pk=event["id"])
    assert parked.failed_at is not None
    for _ in range(3):
        assert tasks.stripe_events_retry() == 0
    time.sleep(0.5)
    assert attempts() == 3

    staff = Client()
    second_factor_client(StaffFactory(is_superuser=True), staff)
    listing = staff.get("/admin/stripe-events/?failed_at__isnull=False")
    assert listing.status_code == 200
    assert event["id"] in listing.content.decode()
    page = staff.get(f"/admin/stripe-events/inspect/{event['id']}/")
    assert page.status_code == 200
    assert "Retry this event" in page.content.decode()
    assert "Error" in page.content.decode()
    # Read-only: no edit or delete for stored events.
    assert staff.get(f"/admin/stripe-events/edit/{event['id']}/").status_code in (302, 403)

    response = staff.post(f"/admin/stripe-events/retry/{event['id']}/")
    assert response.status_code == 302
    # One more attempt, which fails again and parks it again.
    wait_for(lambda: attempts() == 4, message="the staff retry's attempt")
    wait_for(lambda: StripeEvent.objects.get(pk=event["id"]).failed_at is not None)
    assert tasks.stripe_events_retry() == 0


def test_only_staff_with_the_permission_may_retry(
    stripe_webhook, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Permission

    with django_capture_on_commit_callbacks(execute=False):
        stripe_webhook(_missing_session_event("evt_test_perm"))
    StripeEvent.objects.filter(pk="evt_test_perm").update(failed_at=timezone.now())
    viewer = StaffFactory()
    viewer.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_stripeevent"),
    )
    client = Client()
    second_factor_client(viewer, client)
    assert client.get("/admin/stripe-events/").status_code == 200
    assert (
        "Retry this event"
        not in client.get("/admin/stripe-events/inspect/evt_test_perm/").content.decode()
    )
    refused = client.post("/admin/stripe-events/retry/evt_test_perm/")
    assert refused.status_code in (302, 403)  # Wagtail sends the refused back to its dashboard
    assert refused.headers.get("Location", "/admin/") == "/admin/"
    assert StripeEvent.objects.get(pk="evt_test_perm").failed_at is not None
