"""Discussions in the Wagtail admin: list management, the moderation queue, an activity panel."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.viewsets.model import ModelViewSet

from . import services
from .models import MailingList, Message
from .services.common import is_moderator


class MailingListViewSet(ModelViewSet):
    model = MailingList
    icon = "mail"
    menu_label = "Mailing lists"
    menu_order = 310
    add_to_admin_menu = True
    list_display = ["name", "address", "posting", "archive_members_only", "is_active"]
    form_fields = [
        "name",
        "slug",
        "description",
        "posting",
        "archive_members_only",
        "moderate_first_posts",
        "moderators",
        "is_active",
        "sort_order",
    ]
    search_fields = ["name", "slug", "description"]


mailing_list_viewset = MailingListViewSet("mailing_lists")


@hooks.register("register_admin_viewset")
def register_mailing_lists():
    return mailing_list_viewset


def _moderated_lists(user):
    return [m for m in MailingList.objects.all() if is_moderator(user, m)]


def moderation_queue(request):
    lists = _moderated_lists(request.user)
    if not lists:
        raise PermissionDenied
    held = (
        Message.objects.filter(status=Message.Status.HELD, mailing_list__in=lists)
        .select_related("mailing_list", "author")
        .order_by("created_at")
    )
    return TemplateResponse(
        request,
        "discussions/admin/moderation_queue.html",
        {"held": held, "page_title": "Moderation queue", "header_icon": "mail"},
    )


@require_POST
def moderation_decide(request, pk):
    message = get_object_or_404(Message, pk=pk, status=Message.Status.HELD)
    if not is_moderator(request.user, message.mailing_list):
        raise PermissionDenied
    action = request.POST.get("action")
    note = request.POST.get("note", "").strip()
    if action == "approve":
        services.message_approve(message=message, moderator=request.user)
        messages.success(request, f"Approved “{message.subject}”; it is on its way.")
    elif action == "reject":
        services.message_reject(message=message, moderator=request.user, note=note)
        messages.success(request, f"Rejected “{message.subject}”; the sender was told.")
    elif action == "ban":
        count = services.sender_ban(
            mailing_list=message.mailing_list,
            email=message.from_email,
            moderator=request.user,
            note=note,
        )
        messages.success(request, f"Banned {message.from_email}; {count} held message(s) rejected.")
    return redirect("discussions_moderation")


@hooks.register("register_admin_urls")
def register_moderation_urls():
    return [
        path("discussions/moderation/", moderation_queue, name="discussions_moderation"),
        path(
            "discussions/moderation/<int:pk>/",
            moderation_decide,
            name="discussions_moderation_decide",
        ),
    ]


class ModerationMenuItem(MenuItem):
    def is_shown(self, request):
        return bool(_moderated_lists(request.user))


@hooks.register("register_admin_menu_item")
def register_moderation_menu_item():
    return ModerationMenuItem(
        "Moderation queue",
        reverse("discussions_moderation"),
        icon_name="warning",
        order=311,
    )


class ListActivityPanel(Component):
    name = "discussions"
    order = 60
    template_name = "discussions/admin/activity_panel.html"

    def __init__(self, lists):
        self.lists = lists

    def get_context_data(self, parent_context):
        week_ago = timezone.now() - dt.timedelta(days=7)
        rows = (
            MailingList.objects.filter(pk__in=[m.pk for m in self.lists])
            .annotate(
                posts_week=Count(
                    "messages",
                    filter=Q(messages__status="published", messages__published_at__gte=week_ago),
                    distinct=True,
                ),
                held=Count("messages", filter=Q(messages__status="held"), distinct=True),
                subscribers=Count("subscriptions", distinct=True),
                paused=Count(
                    "subscriptions",
                    filter=Q(subscriptions__delivery_disabled_at__isnull=False),
                    distinct=True,
                ),
            )
            .order_by("sort_order", "name")
        )
        return {"rows": rows, "queue_url": reverse("discussions_moderation")}


@hooks.register("construct_homepage_panels")
def add_activity_panel(request, panels):
    lists = _moderated_lists(request.user)
    if lists:
        panels.append(ListActivityPanel(lists))
