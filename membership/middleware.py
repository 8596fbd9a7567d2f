"""Staff must use a second factor before they reach an admin."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

ADMIN_PREFIXES = ("/admin/", "/django-admin/")
ADMIN_LOGINS = ("/admin/login/", "/django-admin/login/")


class StaffMFAMiddleware:
    """Sends staff without an authenticator app to set one up, and sends the admins' own
    login forms (which would skip the second factor) to allauth's login."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if path.startswith(ADMIN_LOGINS):
            query = request.META.get("QUERY_STRING")
            return redirect(f"{reverse('account_login')}{'?' + query if query else ''}")
        user = getattr(request, "user", None)
        if (
            settings.STAFF_MFA_REQUIRED
            and path.startswith(ADMIN_PREFIXES)
            and user is not None
            and user.is_authenticated
            and (user.is_staff or user.is_superuser)
        ):
            from allauth.mfa.utils import is_mfa_enabled

            if not is_mfa_enabled(user):
                messages.warning(
                    request,
                    "Staff accounts need two-factor authentication. Set up an authenticator "
                    "app to continue to the admin.",
                )
                return redirect("mfa_activate_totp")
        return self.get_response(request)
