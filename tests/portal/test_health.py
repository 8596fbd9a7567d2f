import pytest
from django.urls import reverse

from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat
from tests.conftest import wait_for
from tests.factories import MemberFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker_ok(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


def test_healthz_answers_503_when_broker_unreachable(client, settings):
    # Nothing listens on port 1 of the loopback address: the connection is refused at once.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


@pytest.mark.django_db(transaction=True)
def test_worker_consumes_a_job_from_the_broker_and_healthz_shows_it(celery_worker, client):
    heartbeat.delay()

    beat = wait_for(
        lambda: WorkerHeartbeat.objects.filter(name="worker").first(),
        message="the worker never ran the heartbeat job",
    )
    body = client.get(reverse("healthz")).json()
    assert body["worker"]["last_job_at"] == beat.beat_at.isoformat()


def test_heartbeat_twice_keeps_one_row():
    heartbeat()
    heartbeat()

    assert WorkerHeartbeat.objects.filter(name="worker").count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"REMOTE_ADDR": "203.0.113.7"},
        # Behind a proxy on the same machine, outside requests arrive from loopback too.
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"},
        {"REMOTE_ADDR": "::1", "HTTP_FORWARDED": "for=203.0.113.7;proto=https"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "203.0.113.7"},
    ],
)
def test_healthz_gives_outsiders_the_status_and_nothing_else(client, headers):
    response = client.get(reverse("healthz"), **headers)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_gives_outsiders_503_without_the_reason(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get(reverse("healthz"), REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_healthz_gives_staff_the_details_from_anywhere(client):
    client.force_login(StaffFactory())

    body = client.get(reverse("healthz"), REMOTE_ADDR="203.0.113.7").json()

    assert body["database"]["ok"] is True
    assert "broker" in body


def test_healthz_gives_members_only_the_status(client):
    client.force_login(MemberFactory())

    body = client.get(reverse("healthz"), REMOTE_ADDR="203.0.113.7").json()

    assert body == {"status": "ok"}
