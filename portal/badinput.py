"""Bad input gets a 400, not a 500, even where the code that chokes on it is not ours.

- A NUL character is never part of anything a person or a browser sends us, and PostgreSQL
  refuses it in every text column and query, so a request carrying one in its path, query
  string or form fields is answered 400 before any view sees it.
- The Wagtail and Django admins are third-party views that trust their own forms and links:
  given a hand-edited query string or a form with fields missing they raise ValueError,
  KeyError (a missing POST field), OverflowError (an id too large for the database) and the
  like. Under the admin prefixes those exceptions mean "the request was malformed", and are
  answered 400 with a warning in the log (with the traceback, so a real bug stays visible).
  Our own views validate with forms and never rely on this.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import InvalidPage
from django.db import DataError
from django.shortcuts import render
from django.urls import NoReverseMatch
from django.utils.datastructures import MultiValueDictKeyError
from modelsearch.backends.base import FilterFieldError

log = logging.getLogger(__name__)

ADMIN_PREFIXES = ("/admin/", "/django-admin/")
MALFORMED_ADMIN_INPUT = (
    ValueError,  # int("abc"), an invalid UUID, a bad date in a filter
    OverflowError,  # an id beyond the database's integers (SQLite)
    MultiValueDictKeyError,  # a POST without a field the admin's JavaScript adds
    ValidationError,
    InvalidPage,
    FilterFieldError,  # a search filtered on a field the index does not have
    DataError,  # the database refused a value (PostgreSQL: out of range, bad text)
    ObjectDoesNotExist,  # an unknown id in a form field the admin looks up with .get()
    NoReverseMatch,  # a chooser building links from query parameters it did not check
)


def _has_nul(request) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method == "POST" and request.content_type in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        return any("\x00" in k or "\x00" in v for k, vs in request.POST.lists() for v in vs)
    return False


def bad_request(request, reason: str):
    return render(request, "400.html", {"reason": reason}, status=400)


class BadInputMiddleware:
    """See the module docstring. Place it after CsrfViewMiddleware (which reads the form
    first) and anywhere before the views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            return bad_request(request, "The request holds a NUL character. Nothing was changed.")
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith(ADMIN_PREFIXES) and isinstance(exception, MALFORMED_ADMIN_INPUT):
            log.warning(
                "malformed admin request %s %s answered 400",
                request.method,
                request.path,
                exc_info=exception,
            )
            return bad_request(request, "Part of that request is not something the admin takes.")
        return None
