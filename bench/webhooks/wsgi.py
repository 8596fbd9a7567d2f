"""The portal's WSGI app for the benchmark's gunicorn, sharing the bench's broker prefix and
Stripe settings (passed as JSON, as tests/discussions/worker_process.py does for workers)."""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402

for key, value in json.loads(os.environ.get("GUILDHALL_WORKER_OVERRIDES", "{}")).items():
    setattr(settings, key, value)

from django.core.wsgi import get_wsgi_application  # noqa: E402

from portal.celery import app  # noqa: E402

app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
application = get_wsgi_application()
