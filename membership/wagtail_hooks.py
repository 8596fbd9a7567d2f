"""Staff tools in the Wagtail admin: members (filters, detail with payments and state history,
CSV export), plans (synced to Stripe on save), complimentary grants, the member import
(`admin_import`) and a dashboard panel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.views.generic import CreateView, EditView, IndexView, InspectView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets.button import HeaderButton

from portal.charts import figures_table, month_starts, stacked_bars

from . import admin_import, selectors, services
from .forms import ComplimentaryForm
from .models import Membership, Plan
from .tasks import plan_sync_stripe

# --- plans -------------------------------------------------------------------------------------


class _PlanSyncMixin:
    """After a plan is saved, its Stripe Product and Price follow in a task."""

    def save_instance(self):
        instance = super().save_instance()
        transaction.on_commit(lambda: plan_sync_stripe.delay(instance.pk))
        return instance


class PlanCreateView(_PlanSyncMixin, CreateView):
    pass


class PlanEditView(_PlanSyncMixin, EditView):
    pass


class PlanViewSet(ModelViewSet):
    model = Plan
    icon = "tag"
    menu_label = "Plans"
    add_view_class = PlanCreateView
    edit_view_class = PlanEditView
    list_display = ["name", "kind", "price_display", "seats", "is_voting", "is_active"]
    list_filter = ["kind", "is_active"]
    form_fields = [
        "name",
        "slug",
        "kind",
        "yearly_price_cents",
        "description",
        "benefits",
        "seats",
        "is_voting",
        "is_active",
        "sort_order",
        "invoice_allowed",
        "invoice_due_days",
    ]
    copy_view_enabled = False


# --- members -----------------------------------------------------------------------------------


class MemberIndexView(IndexView):
    """Rows open the member's detail page; memberships change through actions, not a form."""

    def get_edit_url(self, instance):
        return self.get_inspect_url(instance)

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("user", "plan", "practice")

    @cached_property
    def header_buttons(self):
        return [
            *super().header_buttons,
            HeaderButton(
                "Grant complimentary",
                url=reverse("membership_admin:complimentary"),
                icon_name="pick",
            ),
        ]


class MemberInspectView(InspectView):
    template_name = "membership/admin/membership_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        m = self.object
        context.update(
            membership=m,
            payments=m.payments.all(),
            history=m.history.select_related("actor"),
            seats=m.seats.select_related("user") if m.practice_id else None,
            cancel_url=reverse("membership_admin:cancel", args=[quote(m.pk)]),
        )
        return context


class MembershipViewSet(ModelViewSet):
    model = Membership
    icon = "group"
    menu_label = "Members"
    name = "members"
    index_view_class = MemberIndexView
    inspect_view_class = MemberInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = [
        "user",
        "email",
        "plan",
        "state",
        "practice",
        "current_period_end",
        "access_ends_at",
        "is_complimentary",
    ]
    list_filter = ["plan", "state", "practice__state", "is_complimentary", "auto_renew"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "practice__name"]
    search_backend_name = None
    list_export = [
        "pk",
        "user.email",
        "user.first_name",
        "user.last_name",
        "plan.name",
        "state",
        "practice_name",
        "practice_state",
        "started_at",
        "current_period_end",
        "access_ends_at",
        "auto_renew",
        "is_complimentary",
        "stripe_customer_id",
    ]
    export_headings = {
        "pk": "Membership",
        "user.email": "Email",
        "user.first_name": "First name",
        "user.last_name": "Last name",
        "plan.name": "Plan",
        "state": "State",
        "practice_name": "Practice",
        "practice_state": "Practice state",
        "started_at": "Member since",
        "current_period_end": "Paid through",
        "access_ends_at": "Access ends",
        "auto_renew": "Auto-renew",
        "is_complimentary": "Complimentary",
        "stripe_customer_id": "Stripe customer",
    }
    export_filename = "norm-members"
    form_fields = ["plan"]
    inspect_view_fields = [
        "user",
        "plan",
        "state",
        "practice",
        "started_at",
        "current_period_end",
        "grace_started_at",
        "access_ends_at",
        "auto_renew",
        "is_complimentary",
        "stripe_customer_id",
        "stripe_subscription_id",
        "stripe_subscription_status",
    ]


class MembershipAdminGroup(ModelViewSetGroup):
    menu_label = "Membership"
    menu_icon = "group"
    menu_order = 250
    items = (MembershipViewSet, PlanViewSet)
    submenu_hook = "register_membership_menu_item"


@hooks.register("register_admin_viewset")
def register_membership_viewsets():
    return MembershipAdminGroup()


# --- staff actions -----------------------------------------------------------------------------


def _require(request, codename: str) -> None:
    if not request.user.has_perm(f"membership.{codename}"):
        raise PermissionDenied


def complimentary_grant(request):
    _require(request, "change_membership")
    form = ComplimentaryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ends_on = form.cleaned_data["ends_on"]
        ends_at = timezone.make_aware(
            timezone.datetime.combine(ends_on, timezone.datetime.max.time())
        )
        try:
            m = services.membership_grant_complimentary(
                user=form.user,
                plan=form.cleaned_data["plan"],
                ends_at=ends_at,
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except services.MembershipError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"{form.user.email} is a member until {date_format(ends_on)}."
            )
            return redirect("members:inspect", quote(m.pk))
    return TemplateResponse(
        request,
        "membership/admin/complimentary.html",
        {"form": form, "page_title": "Grant a complimentary membership"},
    )


@require_POST
def membership_cancel(request, pk):
    _require(request, "change_membership")
    m = get_object_or_404(Membership, pk=pk)
    reason = request.POST.get("reason", "").strip() or "canceled by staff"
    services.membership_cancel(membership=m, actor=request.user, reason=reason)
    messages.success(request, "The membership is canceled; its Stripe subscription ends too.")
    return redirect("members:inspect", quote(m.pk))


@hooks.register("register_admin_urls")
def register_membership_admin_urls():
    urls = [
        path("complimentary/", complimentary_grant, name="complimentary"),
        path("<int:pk>/cancel/", membership_cancel, name="cancel"),
        path("import/", admin_import.upload, name="import"),
        path("import/<str:token>/", admin_import.mapping, name="import-map"),
        path("import/<str:token>/report.csv", admin_import.report_csv, name="import-report"),
    ]
    return [path("membership-tools/", (urls, "membership_admin", "membership_admin"))]


@hooks.register("register_membership_menu_item")
def register_complimentary_menu_item():
    return MenuItem(
        "Grant complimentary",
        reverse("membership_admin:complimentary"),
        icon_name="pick",
        order=3,
    )


class _ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("membership.add_membership")


@hooks.register("register_membership_menu_item")
def register_import_menu_item():
    return _ImportMenuItem(
        "Import members",
        reverse("membership_admin:import"),
        icon_name="upload",
        order=4,
    )


# --- dashboard ---------------------------------------------------------------------------------


class MembershipPanel(Component):
    name = "membership"
    order = 50
    template_name = "membership/admin/dashboard_panel.html"

    def get_context_data(self, parent_context):
        counts = selectors.state_counts()
        labels = [
            (Membership.State.ACTIVE, "active"),
            (Membership.State.GRACE, "in grace"),
            (Membership.State.LAPSED, "lapsed"),
            (Membership.State.PENDING, "pending payment"),
        ]
        history = selectors.states_by_month()
        by_status = stacked_bars(
            [(month, [c[key] for key, _ in labels]) for month, c in history],
            title="Members by status, last 12 months",
            series=[label for _, label in labels],
        )
        dues = dict(selectors.dues_by_month())
        months = [start.strftime("%b %Y") for start in month_starts(12)]
        revenue = stacked_bars(
            [(month, [dues.get(month, 0) / 100]) for month in months],
            title="Dues by month, net of refunds",
            series=["dues"],
            fmt=lambda dollars: f"${dollars:,.2f}",
        )
        return {
            "states": [(key, label, counts[key]) for key, label in labels],
            "charts": [
                (by_status, figures_table(by_status)),
                (revenue, figures_table(revenue, total_heading="Dues")),
            ],
            "members_url": reverse("members:index"),
        }


@hooks.register("construct_homepage_panels")
def add_membership_panel(request, panels):
    if request.user.has_perm("membership.view_membership"):
        panels.append(MembershipPanel())
