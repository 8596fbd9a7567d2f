"""Admin for the conference: ticket types, programme, codes, orders, and a dashboard panel."""

from django.utils import timezone
from wagtail import hooks
from wagtail.admin.ui.components import Component
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from portal.charts import figures_table, meters, stacked_bars

from . import selectors
from .models import (
    AccessCode,
    ConferencePage,
    DiscountCode,
    Order,
    Session,
    Speaker,
    Sponsor,
    TicketType,
    WaitlistEntry,
)


class TicketTypeViewSet(ModelViewSet):
    model = TicketType
    icon = "tag"
    list_display = [
        "name",
        "conference",
        "kind",
        "member_price_cents",
        "non_member_price_cents",
        "capacity",
        "requires_code",
    ]
    list_filter = ["conference", "kind", "requires_code"]
    form_fields = [
        "conference",
        "name",
        "kind",
        "description",
        "day",
        "member_price_cents",
        "non_member_price_cents",
        "early_bird_member_price_cents",
        "early_bird_non_member_price_cents",
        "early_bird_until",
        "capacity",
        "includes_breakouts",
        "requires_code",
        "is_active",
        "sort_order",
    ]


class SessionViewSet(ModelViewSet):
    model = Session
    icon = "time"
    list_display = ["title", "kind", "starts_at", "room", "capacity"]
    list_filter = ["conference", "kind"]
    search_fields = ["title", "description"]
    form_fields = [
        "conference",
        "title",
        "kind",
        "starts_at",
        "ends_at",
        "room",
        "description",
        "speakers",
        "capacity",
        "sort_order",
    ]


class SpeakerViewSet(ModelViewSet):
    model = Speaker
    icon = "user"
    list_display = ["name", "job_title", "organization"]
    list_filter = ["conference"]
    search_fields = ["name", "organization"]
    form_fields = ["conference", "name", "job_title", "organization", "bio", "photo", "sort_order"]


class SponsorViewSet(ModelViewSet):
    model = Sponsor
    icon = "pick"
    list_display = ["name", "tier", "conference"]
    list_filter = ["conference", "tier"]
    form_fields = ["conference", "name", "tier", "url", "blurb", "logo", "sort_order"]


class DiscountCodeViewSet(ModelViewSet):
    model = DiscountCode
    icon = "tag"
    list_display = ["code", "kind", "value", "max_uses", "valid_until"]
    list_filter = ["conference", "kind"]
    form_fields = [
        "conference",
        "code",
        "kind",
        "value",
        "max_uses",
        "valid_from",
        "valid_until",
        "ticket_types",
    ]


class AccessCodeViewSet(ModelViewSet):
    """Codes that unlock hidden ticket types (exhibitor, speaker, staff, comp)."""

    model = AccessCode
    icon = "key"
    list_display = ["code", "note", "max_uses", "valid_until", "conference"]
    list_filter = ["conference"]
    search_fields = ["code", "note"]
    form_fields = ["conference", "code", "note", "ticket_types", "max_uses", "valid_until"]


class OrderViewSet(ModelViewSet):
    """Read-mostly: orders change through the services (pay, cancel), not by hand."""

    model = Order
    icon = "list-ul"
    list_display = ["code", "owner", "status", "total_cents", "created_at"]
    list_filter = ["conference", "status"]
    search_fields = ["code", "email"]
    form_fields = ["email"]
    inspect_view_enabled = True
    copy_view_enabled = False


class WaitlistViewSet(ModelViewSet):
    model = WaitlistEntry
    icon = "group"
    list_display = ["email", "ticket_type", "status", "created_at", "offer_expires_at"]
    list_filter = ["conference", "status"]
    form_fields = ["status"]
    copy_view_enabled = False


class ConferenceViewSetGroup(ModelViewSetGroup):
    menu_label = "Conference"
    menu_icon = "date"
    menu_order = 300
    items = (
        TicketTypeViewSet("ticket_types"),
        SessionViewSet("sessions"),
        SpeakerViewSet("speakers"),
        SponsorViewSet("sponsors"),
        DiscountCodeViewSet("discount_codes"),
        AccessCodeViewSet("access_codes"),
        OrderViewSet("orders"),
        WaitlistViewSet("waitlist"),
    )


@hooks.register("register_admin_viewset")
def register_viewset():
    return ConferenceViewSetGroup()


class RegistrationPanel(Component):
    """The next conference at a glance on the admin home: tickets, break-out seats, revenue."""

    name = "conference_registrations"
    template_name = "conferences/admin/registration_panel.html"
    order = 90

    def __init__(self, conference):
        self.conference = conference

    def get_context_data(self, parent_context):
        stats = selectors.dashboard(self.conference)
        types = list(stats["by_type"])
        paid, held = sum(t.paid for t in types), sum(t.held for t in types)
        rows = [("All tickets", paid, held, self.conference.capacity)]
        rows += [(t.name, t.paid, t.held, t.capacity or self.conference.capacity) for t in types]
        rows += [(s.title, s.capacity - s.seats_left, 0, s.capacity) for s in stats["breakouts"]]
        seats = meters(
            rows,
            title=f"{self.conference.title}: registrations against capacity",
            used="paid",
            held="awaiting payment",
        )
        revenue = stacked_bars(
            [(month, [cents / 100]) for month, cents in selectors.revenue_by_month()],
            title="Conference revenue by month, net of refunds",
            series=["revenue"],
            fmt=lambda dollars: f"${dollars:,.2f}",
        )
        return {
            "stats": stats,
            "conference": self.conference,
            "charts": [
                (seats, figures_table(seats, total_heading="Capacity")),
                (revenue, figures_table(revenue, total_heading="Revenue")),
            ],
        }


@hooks.register("construct_homepage_panels")
def add_registration_panel(request, panels):
    if not request.user.is_staff:
        return
    conference = (
        ConferencePage.objects.live()
        .filter(end_date__gte=timezone.localdate())
        .order_by("start_date")
        .first()
    )
    if conference:
        panels.append(RegistrationPanel(conference))
