"""Staff tools in the Wagtail admin (behind its second factor): elections and offices as
viewsets whose saves are audited, and an overview per election with turnout, the nominations
to approve and the audit log. Nothing here shows a person's choices or a count before the
close."""

from __future__ import annotations

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.models import CreateView, EditView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from . import admin_views
from .models import Election, Office
from .services import audit


class _AuditedCreate(CreateView):
    def save_instance(self):
        instance = super().save_instance()
        election = instance if isinstance(instance, Election) else instance.election
        audit(
            election=election,
            actor=self.request.user,
            action=f"{instance._meta.verbose_name} created",
            detail=str(instance),
        )
        return instance


class _AuditedEdit(EditView):
    def save_instance(self):
        instance = super().save_instance()
        election = instance if isinstance(instance, Election) else instance.election
        changed = ", ".join(self.form.changed_data) or "nothing"
        audit(
            election=election,
            actor=self.request.user,
            action=f"{instance._meta.verbose_name} edited",
            detail=f"{instance}: {changed}",
        )
        return instance


class ElectionViewSet(ModelViewSet):
    model = Election
    icon = "tasks"
    add_view_class = _AuditedCreate
    edit_view_class = _AuditedEdit
    copy_view_enabled = False
    list_display = ["title", "voting_open_at", "voting_close_at", "closed_at"]
    form_fields = [
        "title",
        "slug",
        "description",
        "nominations_open_at",
        "nominations_close_at",
        "eligibility_cutoff",
        "voting_open_at",
        "voting_close_at",
        "practice_rule",
        "allow_vote_change",
    ]


class OfficeViewSet(ModelViewSet):
    model = Office
    icon = "group"
    add_view_class = _AuditedCreate
    edit_view_class = _AuditedEdit
    copy_view_enabled = False
    list_display = ["title", "election", "seats", "method", "allow_write_ins"]
    list_filter = ["election"]
    form_fields = ["election", "title", "seats", "method", "allow_write_ins", "sort_order"]


class ElectionsViewSetGroup(ModelViewSetGroup):
    menu_label = "Elections"
    menu_icon = "tasks"
    menu_order = 320
    items = (ElectionViewSet("election_setup"), OfficeViewSet("election_offices"))


@hooks.register("register_admin_viewset")
def register_viewset():
    return ElectionsViewSetGroup()


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [
        path("elections/overview/", admin_views.overview_index, name="elections_overview"),
        path(
            "elections/overview/<int:election_id>/",
            admin_views.overview,
            name="elections_overview_detail",
        ),
        path(
            "elections/overview/nominations/<int:nomination_id>/review/",
            admin_views.nomination_review,
            name="elections_nomination_review",
        ),
    ]


class _StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_staff


@hooks.register("register_admin_menu_item")
def register_overview_menu_item():
    return _StaffMenuItem(
        "Election overview", reverse("elections_overview"), icon_name="view", order=321
    )
