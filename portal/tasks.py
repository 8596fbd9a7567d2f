"""Site-wide periodic jobs."""

import socket

from celery import shared_task
from celery.signals import worker_ready
from django.core.management import call_command
from django.utils import timezone

from .models import WorkerHeartbeat


@shared_task
def heartbeat(name: str = "worker") -> None:
    """Record that a worker ran a job; running it twice just moves the time forward."""
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "hostname": socket.gethostname()}
    )


@shared_task
def publish_scheduled() -> None:
    """Publish and expire pages whose go-live or expiry time has come (idempotent)."""
    call_command("publish_scheduled", verbosity=0)


@worker_ready.connect
def _heartbeat_on_start(sender, **kwargs):
    """Beat at start-up too, so /healthz shows a working worker without waiting a minute."""
    heartbeat.delay()
