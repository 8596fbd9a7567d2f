"""Following the blog by email: the form, the opt-in link, one-click unsubscribe. Thin: the
rules are in blog/alerts.py."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import alerts
from .forms import FollowForm
from .models import ArticleAlertSubscription


@require_http_methods(["GET", "POST"])
def follow(request):
    member_email = alerts.member_address(request.user)
    current = (
        ArticleAlertSubscription.objects.filter(email=member_email).first()
        if member_email
        else None
    )
    initial = {}
    if current:
        initial = {"categories": list(current.categories.all()), "frequency": current.frequency}
    form = FollowForm(request.POST or None, member_email=member_email, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        categories = list(data["categories"])
        if member_email:
            alerts.follow_member(
                user=request.user, categories=categories, frequency=data["frequency"]
            )
            flash.success(request, f"Done: new articles will come to {member_email}.")
            return redirect("blog:follow")
        alerts.follow_request(
            email=data["email"], categories=categories, frequency=data["frequency"]
        )
        return render(request, "blog/follow_sent.html", {"email": data["email"]})
    return render(
        request,
        "blog/follow.html",
        {"form": form, "member_email": member_email, "current": current},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def follow_confirm(request, token):
    """The opt-in link. A GET shows a button (mail scanners follow links); the POST confirms."""
    try:
        subscription = alerts.confirm_token_read(token)
    except signing.SignatureExpired:
        return render(request, "blog/follow_confirm.html", {"state": "expired"}, status=410)
    except signing.BadSignature:
        subscription = None
    if subscription is None:
        raise Http404("This link is not valid.")
    if request.method == "POST":
        alerts.follow_confirm(subscription)
        return render(request, "blog/follow_confirm.html", {"state": "done"})
    return render(
        request,
        "blog/follow_confirm.html",
        {"state": "ask", "token": token, "subscription": subscription},
    )


# RFC 8058: mail providers POST "List-Unsubscribe=One-Click" from their servers with no
# cookies, so there is no CSRF token to check; the signed token in the URL is the proof.
# A GET (a person clicking, or a link scanner) only shows a confirmation button.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def follow_unsubscribe(request, token):
    try:
        subscription = alerts.unsubscribe_token_read(token)
    except signing.BadSignature:
        raise Http404("This unsubscribe link is not valid.") from None
    if request.method == "POST":
        if subscription is not None:
            alerts.follow_stop(subscription)
        return render(request, "blog/follow_unsubscribe.html", {"done": True})
    if subscription is None:
        return render(request, "blog/follow_unsubscribe.html", {"done": True})
    return render(
        request,
        "blog/follow_unsubscribe.html",
        {"done": False, "token": token, "subscription": subscription},
    )
