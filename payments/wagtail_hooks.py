"""Staff tools in the Wagtail admin: Stripe's webhook events as stored, and retrying one;
invoices, receipts, credit notes and exports (payments/invoice_admin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.admin.views.generic import InspectView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from . import services
from .invoice_admin import VIEWSETS as INVOICE_VIEWSETS
from .models import StripeEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser
    from django.http import HttpRequest, HttpResponse
    from django.urls import URLPattern


class _ViewOnly(ModelPermissionPolicy):  # type: ignore[misc]  # Wagtail ships no type hints
    """Webhook events are Stripe's record: staff read them and retry them, never edit them."""

    def user_has_permission(self, user: AbstractUser, action: str) -> bool:
        return action == "view" and super().user_has_permission(user, action)


register_permission_policy(StripeEvent, _ViewOnly(StripeEvent))


class StripeEventInspectView(InspectView):  # type: ignore[misc]  # Wagtail ships no type hints
    template_name = "payments/admin/stripe_event_inspect.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        if self.object.processed_at is None and self.request.user.has_perm(
            "payments.change_stripeevent"
        ):
            context["retry_url"] = reverse("stripe-events:retry", args=[quote(self.object.pk)])
        return context


@require_POST
def stripe_event_retry(request: HttpRequest, pk: str) -> HttpResponse:
    if not request.user.has_perm("payments.change_stripeevent"):
        raise PermissionDenied
    event = get_object_or_404(StripeEvent, pk=pk)
    if services.stripe_event_retry(event_id=event.pk):
        messages.success(request, f"Event {event.pk} is queued to be applied again.")
    else:
        messages.info(request, f"Event {event.pk} was applied already.")
    return redirect("stripe-events:inspect", quote(event.pk))


class StripeEventViewSet(ModelViewSet):  # type: ignore[misc]  # Wagtail ships no type hints
    """Webhook events as stored, the failed ones first: what staff check when a payment did
    not show up, and where they retry an event that was parked."""

    model = StripeEvent
    icon = "warning"
    menu_label = "Stripe events"
    name = "stripe-events"
    inspect_view_class = StripeEventInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = ["id", "type", "status", "attempts", "received_at", "failed_at", "error"]
    list_filter = ["type", "failed_at", "processed_at"]
    ordering = ["-received_at"]
    form_fields = ["id"]
    inspect_view_fields = [
        "id",
        "type",
        "object_id",
        "status",
        "created",
        "received_at",
        "processed_at",
        "covered_by",
        "attempts",
        "next_attempt_at",
        "failed_at",
        "error",
    ]

    def get_urlpatterns(self) -> list[URLPattern]:
        return [
            *super().get_urlpatterns(),
            path(f"retry/<{self.pk_path_converter}:pk>/", stripe_event_retry, name="retry"),
        ]


class PaymentsAdminGroup(ModelViewSetGroup):  # type: ignore[misc]  # Wagtail ships no type hints
    menu_label = "Payments"
    menu_icon = "clipboard-list"
    menu_order = 260
    items = (StripeEventViewSet, *INVOICE_VIEWSETS)


@hooks.register("register_admin_viewset")  # type: ignore[untyped-decorator]  # no Wagtail hints
def register_payments_viewsets() -> PaymentsAdminGroup:
    return PaymentsAdminGroup()
