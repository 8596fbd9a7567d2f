"""Elections under /elections/: the pages, nominating, voting, results and the export."""

from django.urls import path

from . import views

app_name = "elections"

urlpatterns = [
    path("", views.index, name="index"),
    path("nominations/<id:nomination_id>/", views.nomination_respond, name="respond"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/nominate/", views.nominate, name="nominate"),
    path("<slug:slug>/vote/", views.vote, name="vote"),
    path("<slug:slug>/vote/link/<str:token>/", views.vote, name="vote-link"),
    path("<slug:slug>/change/", views.change, name="change"),
    path("<slug:slug>/change/link/<str:token>/", views.change, name="change-link"),
    path("<slug:slug>/results/", views.results, name="results"),
    path("<slug:slug>/export.json", views.export, name="export"),
]
