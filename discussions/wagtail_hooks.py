"""Discussions in the Wagtail admin: list management, the moderation queue, an activity panel."""

from __future__ import annotations

import datetime as dt
import email.policy
from email.parser import BytesHeaderParser

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
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

from portal.charts import figures_table, stacked_bars

from . import mailparse, services
from .models import InboundMessage, MailingList, Message
from .selectors import posts_by_week
from .services.common import is_moderator


class MailingListViewSet(ModelViewSet):
    model = MailingList
    icon = "mail"
    menu_label = "Mailing lists"
    menu_order = 310
    add_to_admin_menu = True
    list_display = ["name", "address", "joining", "posting", "archive_members_only", "is_active"]
    form_fields = [
        "name",
        "slug",
        "description",
        "joining",
        "posting",
        "allowed_senders",
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
                    filter=Q(
                        messages__status=Message.Status.PUBLISHED,
                        messages__published_at__gte=week_ago,
                    ),
                    distinct=True,
                ),
                held=Count(
                    "messages", filter=Q(messages__status=Message.Status.HELD), distinct=True
                ),
                subscribers=Count("subscriptions", distinct=True),
                paused=Count(
                    "subscriptions",
                    filter=Q(subscriptions__delivery_disabled_at__isnull=False),
                    distinct=True,
                ),
            )
            .order_by("sort_order", "name")
        )
        lists = list(self.lists)
        chart = stacked_bars(
            posts_by_week(lists=lists),
            title="Posts per week, last 12 weeks",
            series=[m.name for m in lists],
        )
        return {
            "rows": rows,
            "queue_url": reverse("discussions_moderation"),
            "chart": chart,
            "figures": figures_table(chart),
        }


@hooks.register("construct_homepage_panels")
def add_activity_panel(request, panels):
    lists = _moderated_lists(request.user)
    if lists:
        panels.append(ListActivityPanel(lists))


# --- the discarded log: every message dropped on purpose, with its reason, and a way back ---


def _discarded_for(user):
    """Discarded inbound mail addressed to the lists `user` moderates (any of their
    addresses: posting, bounce, moderation), newest first."""
    lists = _moderated_lists(user)
    if not lists:
        return None
    to_lists = Q(pk__in=[])
    for mailing_list in lists:
        slug, domain = mailing_list.slug, settings.LIST_DOMAIN
        to_lists |= Q(rcpt_to__iexact=f"{slug}@{domain}")
        to_lists |= Q(rcpt_to__istartswith=f"{slug}-bounces") & Q(rcpt_to__iendswith=f"@{domain}")
        to_lists |= Q(rcpt_to__istartswith=f"{slug}-moderate+") & Q(rcpt_to__iendswith=f"@{domain}")
    return InboundMessage.objects.filter(to_lists, status=InboundMessage.Status.DISCARDED).order_by(
        "-received_at", "-pk"
    )


def _summary(inbound: InboundMessage) -> dict:
    """What the log shows of a message: who, what about, and whether it can be released.
    Headers only; a discarded message's body is never shown here."""
    try:
        msg = BytesHeaderParser(policy=email.policy.default).parsebytes(bytes(inbound.raw))
    except Exception:
        msg = None
    route = services.inbound_route(rcpt_to=inbound.rcpt_to)
    return {
        "inbound": inbound,
        "from": mailparse.header(msg, "From") if msg is not None else "",
        "subject": (mailparse.header(msg, "Subject") if msg is not None else "") or "(no subject)",
        "releasable": route is not None and route.kind == "post",
    }


def discarded_log(request):
    rows = _discarded_for(request.user)
    if rows is None:
        raise PermissionDenied
    page = Paginator(rows, 50).get_page(request.GET.get("p"))
    return TemplateResponse(
        request,
        "discussions/admin/discarded_log.html",
        {
            "page": page,
            "rows": [_summary(inbound) for inbound in page],
            "page_title": "Discarded mail",
            "header_icon": "bin",
        },
    )


@require_POST
def discarded_release(request, pk):
    rows = _discarded_for(request.user)
    if rows is None:
        raise PermissionDenied
    inbound = get_object_or_404(rows, pk=pk)
    try:
        inbound = services.inbound_release(inbound_id=inbound.pk, moderator=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("discussions_discarded")
    messages.success(
        request, f"Released message #{inbound.pk}: it is now {inbound.get_status_display()}."
    )
    return redirect("discussions_discarded")


@hooks.register("register_admin_urls")
def register_discarded_urls():
    return [
        path("discussions/discarded/", discarded_log, name="discussions_discarded"),
        path(
            "discussions/discarded/<int:pk>/release/",
            discarded_release,
            name="discussions_discarded_release",
        ),
    ]


@hooks.register("register_admin_menu_item")
def register_discarded_menu_item():
    return ModerationMenuItem(
        "Discarded mail", reverse("discussions_discarded"), icon_name="bin", order=312
    )
