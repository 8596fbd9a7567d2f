"""Staff tools in the Wagtail admin (behind its second factor): credit types, each session's
hours and rule, the evaluation questions, hours from outside events, and certificates with
revoke and reissue."""

from __future__ import annotations

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from . import admin_views
from .models import CreditType, EvaluationQuestion, SessionCredit, SessionRule


class CreditTypeViewSet(ModelViewSet):
    model = CreditType
    icon = "tag"
    copy_view_enabled = False
    list_display = ["code", "name", "is_active"]
    form_fields = ["code", "name", "description", "sort_order", "is_active"]


class SessionCreditViewSet(ModelViewSet):
    model = SessionCredit
    icon = "time"
    menu_label = "Session hours"
    copy_view_enabled = False
    list_display = ["session", "credit_type", "hours"]
    list_filter = ["credit_type", "session__conference"]
    form_fields = ["session", "credit_type", "hours"]


class SessionRuleViewSet(ModelViewSet):
    model = SessionRule
    icon = "list-ul"
    menu_label = "Session rules"
    copy_view_enabled = False
    list_display = ["session", "rule", "room_code"]
    list_filter = ["rule", "session__conference"]
    form_fields = [
        "session",
        "rule",
        "room_code",
        "opens_minutes_before",
        "closes_minutes_after_start",
    ]


class EvaluationQuestionViewSet(ModelViewSet):
    model = EvaluationQuestion
    icon = "help"
    menu_label = "Evaluation questions"
    copy_view_enabled = False
    list_display = ["text", "kind", "conference", "is_active"]
    list_filter = ["kind", "conference"]
    form_fields = ["conference", "text", "kind", "required", "sort_order", "is_active"]


class EducationViewSetGroup(ModelViewSetGroup):
    menu_label = "Continuing education"
    menu_icon = "doc-full"
    menu_order = 330
    items = (
        CreditTypeViewSet("education_credit_types"),
        SessionCreditViewSet("education_session_hours"),
        SessionRuleViewSet("education_session_rules"),
        EvaluationQuestionViewSet("education_questions"),
    )


@hooks.register("register_admin_viewset")
def register_viewset():
    return EducationViewSetGroup()


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [
        path("education/certificates/", admin_views.certificates, name="education_certificates"),
        path(
            "education/certificates/<int:certificate_id>/",
            admin_views.certificate_detail,
            name="education_certificate",
        ),
        path("education/outside-hours/", admin_views.outside_hours, name="education_outside"),
    ]


class _StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_staff


@hooks.register("register_admin_menu_item")
def register_certificates_menu_item():
    return _StaffMenuItem(
        "Certificates", reverse("education_certificates"), icon_name="doc-full-inverse", order=331
    )


@hooks.register("register_admin_menu_item")
def register_outside_menu_item():
    return _StaffMenuItem(
        "Outside CE hours", reverse("education_outside"), icon_name="plus", order=332
    )
