"""Staff tools in the Wagtail admin (behind its second factor): announcements as a viewset
with preview, and a page per announcement with the recipient count, the test send, the
schedule button and the delivery list."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.views.generic.models import CreateView, EditView
from wagtail.admin.views.generic.preview import PreviewOnCreate, PreviewOnEdit
from wagtail.admin.viewsets.model import ModelViewSet

from . import admin_views, services
from .models import Announcement


class _Create(CreateView):
    def save_instance(self):
        return services.announcement_save(announcement=self.form.instance, actor=self.request.user)

    def get_success_url(self):
        return reverse("announcements_overview", args=[self.object.pk])


class _Edit(EditView):
    def save_instance(self):
        return services.announcement_save(announcement=self.form.instance, actor=self.request.user)

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except services.Refusal as refusal:
            messages.error(self.request, str(refusal))
            return redirect("announcements_overview", self.object.pk)

    def get_success_url(self):
        return reverse("announcements_overview", args=[self.object.pk])


class AnnouncementViewSet(ModelViewSet):
    model = Announcement
    icon = "mail"
    menu_label = "Announcements"
    menu_order = 330
    add_to_admin_menu = True
    add_view_class = _Create
    edit_view_class = _Edit
    preview_on_add_view_class = PreviewOnCreate
    preview_on_edit_view_class = PreviewOnEdit
    copy_view_enabled = False
    inspect_view_enabled = False
    list_display = ["subject", "segment", "state", "send_at", "sent_at"]
    list_filter = ["state", "segment"]
    form_fields = services.CONTENT_FIELDS


@hooks.register("register_admin_viewset")
def register_viewset():
    return AnnouncementViewSet("announcements")


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [
        path(
            "announcements/<int:announcement_id>/overview/",
            admin_views.overview,
            name="announcements_overview",
        ),
        path(
            "announcements/<int:announcement_id>/act/",
            admin_views.act,
            name="announcements_act",
        ),
    ]
