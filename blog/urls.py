from django.urls import path

from . import views

app_name = "blog"

urlpatterns = [
    path("", views.follow, name="follow"),
    path("confirm/<str:token>/", views.follow_confirm, name="follow-confirm"),
    path("unsubscribe/<str:token>/", views.follow_unsubscribe, name="follow-unsubscribe"),
]
