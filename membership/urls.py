from django.urls import path

from . import views

app_name = "membership"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("join/", views.join, name="join"),
    path("join/<slug:slug>/", views.join_plan, name="join-plan"),
    path("join/<slug:slug>/invoice/", views.join_invoice, name="join-invoice"),
    path("welcome/", views.welcome, name="welcome"),
    path("welcome/profile/", views.welcome_profile, name="welcome-profile"),
    path("account/", views.account, name="account"),
    path("account/billing-portal/", views.billing_portal, name="billing-portal"),
    path("account/profile/", views.profile_edit, name="profile"),
    path("account/delete/", views.account_delete, name="account-delete"),
    path("account/status.json", views.status_json, name="status-json"),
    path("practice/invite/", views.seat_invite, name="seat-invite"),
    path("practice/seats/<id:pk>/remove/", views.seat_remove, name="seat-remove"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("directory/", views.directory, name="directory"),
    path("renew/<str:token>/", views.renew, name="renew"),
    path("renew/<str:token>/done/", views.renew_done, name="renew-done"),
]
