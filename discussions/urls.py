from django.urls import path

from . import views

app_name = "discussions"

urlpatterns = [
    path("", views.index, name="index"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("search/", views.search, name="search"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("confirm/<str:token>/", views.post_confirm, name="confirm"),
    path("attachments/<id:pk>/", views.attachment, name="attachment"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("<slug:slug>/", views.list_archive, name="list"),
    path("<slug:slug>/new/", views.thread_new, name="thread-new"),
    path("<slug:slug>/subscribe/", views.subscribe, name="subscribe"),
    path("<slug:slug>/request/", views.join_request, name="join-request"),
    path("<slug:slug>/members/", views.list_members, name="members"),
    path("<slug:slug>/<id:pk>/", views.thread_detail, name="thread"),
    path("<slug:slug>/<id:pk>/reply/", views.thread_reply, name="reply"),
    path(
        "<slug:slug>/<id:pk>/<id:message_pk>/reply-to-author/",
        views.reply_to_author,
        name="reply-author",
    ),
    path("<slug:slug>/<id:pk>/preference/", views.thread_preference, name="thread-preference"),
]
