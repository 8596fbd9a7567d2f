"""Registration and staff URLs under /conferences/. The conference pages themselves are
Wagtail pages (/conferences/<slug>/), which Wagtail serves when nothing here matches."""

from django.urls import path

from . import views

app_name = "conferences"

urlpatterns = [
    path("<id:conference_id>/register/", views.register, name="register"),
    path("orders/<str:code>/", views.order_detail, name="order"),
    path("orders/<str:code>/pay/", views.order_pay, name="order-pay"),
    path("orders/<str:code>/invoice/", views.order_invoice, name="order-invoice"),
    path("orders/<str:code>/cancel/", views.order_cancel, name="order-cancel"),
    path(
        "orders/<str:code>/attendees/<id:attendee_id>/",
        views.attendee_substitute,
        name="attendee-substitute",
    ),
    path(
        "orders/<str:code>/attendees/<id:attendee_id>/breakout-waitlist/",
        views.breakout_waitlist_join,
        name="breakout-waitlist-join",
    ),
    path("tickets/<str:code>/", views.ticket, name="ticket"),
    path("tickets/<str:code>/calendar.ics", views.ticket_ics, name="ticket-ics"),
    # The attendee's signed link (tickets.py): no account, no login.
    path("t/<str:token>/", views.attendee_ticket, name="attendee-ticket"),
    path("t/<str:token>/calendar.ics", views.attendee_ticket_ics, name="attendee-ics"),
    path("t/<str:token>/details/", views.attendee_details, name="attendee-details"),
    path("waitlist/join/<id:ticket_type_id>/", views.waitlist_join, name="waitlist-join"),
    path("waitlist/offers/<str:token>/", views.waitlist_offer, name="waitlist-offer"),
    path("<id:conference_id>/staff/", views.staff_registrations, name="staff-registrations"),
    path("<id:conference_id>/staff/attendees.csv", views.staff_export, name="staff-export"),
    path(
        "<id:conference_id>/staff/sessions/<id:session_id>/",
        views.staff_roster,
        name="staff-roster",
    ),
    path("<id:conference_id>/staff/check-in/", views.staff_checkin, name="staff-checkin"),
    path("<id:conference_id>/staff/dashboard/", views.staff_dashboard, name="staff-dashboard"),
]
