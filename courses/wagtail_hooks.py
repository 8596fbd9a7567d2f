"""Course progress for staff in the Wagtail admin: who started, passed and completed which
course, and the one thing staff change there, extra quiz attempts for a member."""

from __future__ import annotations

from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet

from .models import Enrollment


class EnrollmentViewSet(ModelViewSet):
    model = Enrollment
    icon = "tasks"
    menu_label = "Course progress"
    menu_order = 260
    add_to_admin_menu = True
    add_view_enabled = False
    copy_view_enabled = False
    inspect_view_enabled = True
    list_display = [
        "member",
        "course",
        "started_at",
        "quiz_passed_at",
        "completed_at",
        "attempts_used",
        "extra_attempts",
    ]
    list_filter = ["course", "completed_at"]
    search_fields = ["member__email", "member__first_name", "member__last_name"]
    form_fields = ["extra_attempts"]


@hooks.register("register_admin_viewset")
def register_viewset():
    return EnrollmentViewSet("course_progress")
