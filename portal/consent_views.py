"""One-click unsubscribe per consent category (RFC 8058) and a member's own choices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from . import consent
from .models import ConsentCategory

_PAGE = "portal/consent/unsubscribe.html"


# RFC 8058: mail providers POST "List-Unsubscribe=One-Click" from their servers with no
# cookies, so there is no CSRF token to check; the signed token in the URL is the proof.
# A GET (a person clicking, or a link scanner) only shows a confirmation button.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        email, category = consent.token_read(token)
    except signing.BadSignature:
        return render(request, _PAGE, {"state": "invalid"}, status=400)
    context = {
        "token": token,
        "email": email,
        "category": ConsentCategory(category),
    }
    if request.method == "POST":
        consent.opt_out(email, category)
        return render(request, _PAGE, {**context, "state": "done"})
    return render(request, _PAGE, {**context, "state": "ask"})


@login_required
@require_POST
def preferences(request):
    """The account page's form: a box per category, checked means "send me these"."""
    wanted = set(request.POST.getlist("category"))
    if not wanted <= set(ConsentCategory.values):
        return render(request, "400.html", status=400)
    for category in ConsentCategory.values:
        if category in wanted:
            consent.opt_in(request.user, category)
        else:
            consent.opt_out(request.user, category)
    messages.success(request, "Your mail choices are saved.")
    return redirect("membership:account")
