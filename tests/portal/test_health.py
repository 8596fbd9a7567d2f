import pytest
from django.urls import reverse

from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat
from tests.conftest import wait_for

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
