"""Site-wide views: the health check, robots.txt and the server error page."""

import ipaddress

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
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


# Headers a reverse proxy adds to say whom it forwards for. Behind a proxy every request comes
# from its address, often loopback; one of these headers shows the request came from outside.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _may_see_details(request) -> bool:
    """Staff, or a caller on this machine (a local probe or monitoring agent) that no proxy
    forwarded: the details name the database, the broker and the workers' rhythm."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    if any(header in request.META for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
@require_GET
def healthz(request):
    """Database and broker reachability: 200 when both answer, 503 otherwise.

    Everybody gets the status; only staff and unforwarded loopback callers get the details.
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
    status = 200 if ok else 503
    if not _may_see_details(request):
        return JsonResponse({"status": "ok" if ok else "unavailable"}, status=status)
    body = {
        "status": "ok" if ok else "unavailable",
        "database": {"ok": db_ok, "detail": db_info},
        "broker": {"ok": broker_ok, "detail": broker_info},
        "worker": worker,
    }
    return JsonResponse(body, status=status)


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


def server_error(request):
    """The 500 page. Rendered without the request's context processors or the database, which
    may be what failed: the association's name comes from settings alone."""
    html = loader.get_template("500.html").render({"SITE_NAME": settings.WAGTAIL_SITE_NAME})
    return HttpResponseServerError(html)
