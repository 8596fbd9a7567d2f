"""Every staff area asks for a second factor; every sign-in goes through allauth.

The rule itself is `membership.access.staff_second_factor`; this middleware is the one place
that applies it, to every staff URL group below, before any staff view runs.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from . import access

# The staff URL groups. Anything added under one of them is covered without more code.
STAFF_AREAS = {
    # The Wagtail admin: editors, page and list moderators (the moderation queue), staff.
    "wagtail-admin": re.compile(r"^/admin/"),
    "django-admin": re.compile(r"^/django-admin/"),
    # Attendee list, CSV, rosters, check-in, dashboard: every attendee's email, dietary and
    # accessibility needs.
    "conference-staff": re.compile(r"^/conferences/\d+/staff/"),
}

# Sign-in, password and email forms of Wagtail and Django that would skip allauth (its rate
# limits, verified addresses and second factor), each sent to allauth's own page.
OTHER_ACCOUNT_FORMS = (
    (re.compile(r"^/admin/login/"), "account_login"),
    (re.compile(r"^/django-admin/login/"), "account_login"),
    (re.compile(r"^/_util/login/"), "account_login"),
    (re.compile(r"^/admin/password_reset/"), "account_reset_password"),
    (re.compile(r"^/django-admin/password_change/"), "account_change_password"),
)


def staff_area(path: str) -> str | None:
    """The name of the staff URL group `path` lies in, or None."""
    for name, pattern in STAFF_AREAS.items():
        if pattern.match(path):
            return name
    return None


class StaffMFAMiddleware:
    """Sends the other sign-in forms to allauth's, and anyone who may reach a staff area either
    to set up an authenticator app or, when this session signed in by password alone, to
    confirm with a code before the staff page opens."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        for pattern, url_name in OTHER_ACCOUNT_FORMS:
            if pattern.match(path):
                query = request.META.get("QUERY_STRING")
                return redirect(f"{reverse(url_name)}{'?' + query if query else ''}")
        if staff_area(path) is None:
            return self.get_response(request)
        state = access.staff_second_factor(request)
        if state == access.SecondFactor.NOT_SET_UP:
            messages.warning(
                request,
                "Staff accounts need two-factor authentication. Set up an authenticator app "
                "to continue to the staff pages.",
            )
            return redirect("mfa_activate_totp")
        if state == access.SecondFactor.NOT_USED:
            messages.info(request, "Confirm it is you with a code from your authenticator app.")
            next_url = request.get_full_path() if request.method == "GET" else path
            return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': next_url})}")
        return self.get_response(request)
