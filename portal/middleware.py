"""Headers every response gets: a Content-Security-Policy, and `Cache-Control: private,
no-store` on everything that belongs to one person."""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.utils.cache import patch_cache_control
from django.utils.module_loading import import_string

# Every view of these apps shows or changes one person's things (accounts, orders, tickets,
# staff lists and CSVs, archives, attachments), so a new view there is private without anyone
# having to remember it. Their few public pages lose nothing by not being stored.
PRIVATE_APP_NAMESPACES = frozenset({"membership", "conferences", "discussions"})
# The libraries' areas: allauth's accounts and MFA pages, Wagtail's and Django's admins.
PRIVATE_PATH_PREFIXES = ("/accounts/", "/admin/", "/django-admin/")
WAGTAIL_ADMIN_PREFIX = "/admin/"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware with the two parts of the policy that depend on the response.

    The policy itself is `CONTENT_SECURITY_POLICY` in settings. Added here:
    - form-action allows the pages our forms redirect to elsewhere (Stripe's Checkout and
      billing portal: browsers apply form-action to the redirect after a POST as well), asked
      on each response of the functions named in CSP_FORM_ACTION_SOURCES, because the
      stand-in's address is a setting that tests change;
    - frame-ancestors follows X-Frame-Options: 'none' unless the view allowed SAMEORIGIN
      (Wagtail's preview panel frames its preview), since frame-ancestors overrides the header;
    - the Wagtail admin alone may run inline scripts and styles: Wagtail 8 renders inline
      scripts (date choosers, inline panels, page listings) and its bundled libraries insert
      more, with no nonce to give them (wagtail/wagtail#1288). It is reached only by signed-in
      staff with a second factor, and connect-src, img-src and form-action still keep anything
      that runs there from sending data elsewhere.
    """

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        update = dict(parts.update or {})
        update["form-action"] = [*update.get("form-action", ()), *_redirect_origins()]
        parts.update = update
        if request.path_info.startswith(WAGTAIL_ADMIN_PREFIX):
            for directive in ("script-src", "style-src"):
                update[directive] = [*update.get(directive, ()), UNSAFE_INLINE]
        if response.get("X-Frame-Options", "").upper() == "SAMEORIGIN":
            parts.replace = {**(parts.replace or {}), "frame-ancestors": [SELF]}
        return parts


def _redirect_origins() -> list[str]:
    return [origin for name in settings.CSP_FORM_ACTION_SOURCES for origin in import_string(name)()]


class PrivateCacheControlMiddleware:
    """Marks `Cache-Control: private, no-store` on every response that belongs to one person:
    any request carrying a session (a signed-in visitor), any response starting one, every view
    of PRIVATE_APP_NAMESPACES and everything under PRIVATE_PATH_PREFIXES.

    Public pages for anonymous readers are left alone, so the anonymous page cache
    (blog/cache.py, above this in MIDDLEWARE) and a CDN keep caching them; since this runs below
    the page cache, a response marked here is never stored by it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if _is_private(request, response):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _is_private(request, response) -> bool:
    session_cookie = settings.SESSION_COOKIE_NAME
    if session_cookie in request.COOKIES or session_cookie in response.cookies:
        return True
    if request.path_info.startswith(PRIVATE_PATH_PREFIXES):
        return True
    match = getattr(request, "resolver_match", None)
    return bool(match and match.namespaces and match.namespaces[0] in PRIVATE_APP_NAMESPACES)
