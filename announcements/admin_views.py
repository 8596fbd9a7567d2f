"""An announcement's page in the Wagtail admin (staff only): who it goes to, a test send,
schedule or hold it, and once sending, what went to whom."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from . import services, tasks
from .models import Announcement, AnnouncementDelivery


def _staff(request):
    # The same permission the viewset's edit view asks: staff who may write announcements.
    if not request.user.has_perm("announcements.change_announcement"):
        raise PermissionDenied


def overview(request, announcement_id: int):
    _staff(request)
    announcement = get_object_or_404(Announcement, pk=announcement_id)
    status = request.GET.get("status", "")
    if status not in AnnouncementDelivery.Status.values:
        status = ""
    q = request.GET.get("q", "")[:100]
    rows = services.deliveries(announcement, status=status, q=q)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    counts = dict(
        AnnouncementDelivery.objects.filter(announcement=announcement)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    context = {
        "announcement": announcement,
        "recipient_count": (
            services.recipient_count(announcement) if announcement.is_editable else None
        ),
        "counts": [(s.label, counts.get(s.value, 0)) for s in AnnouncementDelivery.Status],
        "page": page,
        "status": status,
        "q": q,
        "statuses": AnnouncementDelivery.Status.choices,
    }
    return TemplateResponse(request, "announcements/admin/overview.html", context)


@require_POST
def act(request, announcement_id: int):
    _staff(request)
    announcement = get_object_or_404(Announcement, pk=announcement_id)
    action = request.POST.get("action")
    try:
        if action == "test":
            if not request.user.email:
                raise services.Refusal("Your account has no email address for the test.")
            tasks.send_announcement_test.delay(announcement.pk, request.user.pk)
            messages.success(request, f"A test copy is on its way to {request.user.email}.")
        elif action == "schedule":
            announcement = services.announcement_schedule(
                announcement_id=announcement.pk, actor=request.user
            )
            messages.success(
                request, f"Scheduled for {announcement.send_at:%b %-d, %Y, %H:%M} UTC."
            )
        elif action == "unschedule":
            services.announcement_unschedule(announcement_id=announcement.pk)
            messages.success(request, "Back to draft: it will not be sent.")
        else:
            messages.error(request, "Choose test, schedule or unschedule.")
            return redirect("announcements_overview", announcement.pk)
    except services.Refusal as refusal:
        messages.error(request, str(refusal))
    return redirect("announcements_overview", announcement.pk)
