"""Elections under /elections/: the pages, nominating, voting, results and the export."""

from django.urls import path

from . import views

app_name = "elections"

urlpatterns = [
    path("", views.index, name="index"),
    path("nominations/<id:nomination_id>/", views.nomination_respond, name="respond"),
    path("<slug:election_slug>/", views.detail, name="detail"),
    path("<slug:election_slug>/nominate/", views.nominate, name="nominate"),
    path("<slug:election_slug>/vote/", views.vote, name="vote"),
    path("<slug:election_slug>/vote/link/<str:token>/", views.vote, name="vote-link"),
    path("<slug:election_slug>/change/", views.change, name="change"),
    path("<slug:election_slug>/change/link/<str:token>/", views.change, name="change-link"),
    path("<slug:election_slug>/results/", views.results, name="results"),
    path("<slug:election_slug>/export.json", views.export, name="export"),
]
