"""Site-wide views: the health check and robots.txt."""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app
from .models import WorkerHeartbeat


def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means unhealthy; the reason goes in the report
        return False, exc.__class__.__name__
    return True, connection.vendor


def _check_broker() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return True, conn.transport_cls if isinstance(conn.transport_cls, str) else "ok"
    except Exception as exc:  # as above: report, don't raise
        return False, exc.__class__.__name__


@never_cache
@require_GET
def healthz(request):
    """Database and broker reachability as JSON: 200 when both answer, 503 otherwise.

    The worker's last heartbeat is reported for information; it does not fail the check,
    because a web process is healthy even while workers restart.
    """
    db_ok, db_info = _check_database()
    broker_ok, broker_info = _check_broker()
    worker = None
    if db_ok:
        beat = WorkerHeartbeat.objects.filter(name="worker").first()
        if beat:
            age = (timezone.now() - beat.beat_at).total_seconds()
            worker = {"last_job_at": beat.beat_at.isoformat(), "seconds_ago": round(age, 1)}
    ok = db_ok and broker_ok
    body = {
        "status": "ok" if ok else "unavailable",
        "database": {"ok": db_ok, "detail": db_info},
        "broker": {"ok": broker_ok, "detail": broker_info},
        "worker": worker,
    }
    return JsonResponse(body, status=200 if ok else 503)


@require_GET
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /django-admin/",
        "Disallow: /accounts/",
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
