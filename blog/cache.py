"""A page cache for anonymous readers, and its invalidation.

Anonymous visitors all see the same article, index and home pages, so those responses are kept
in the shared cache (Redis in production) and replayed without routing, querying or rendering.
Logged-in people never get a cached page and their pages are never stored, because a member's
page may carry a members-only body, their name and a CSRF token.

Rules, in the order the middleware applies them:
- only GET requests without a session cookie or a pending-messages cookie are looked up;
- a response is stored only when the view marked the request (`request.page_cache_ok`, set by
  the blog's pages and feeds and, through a hook, by the page models named in
  PAGE_CACHE_PAGE_MODELS), its status is 200, it sets no cookie, it did not hand out a CSRF
  token and it is not marked private or no-store;
- every entry carries the cache generation it was stored under; publishing, unpublishing,
  moving or deleting a page (and saving a snippet pages show) starts a new generation, so every
  older entry stops matching at once, whatever URLs (index, feeds, home) showed the page;
- each process also keeps the pages it served last in memory and re-reads the generation at
  most twice a second, so a hit usually costs no network round trip (see _LocalPages).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from types import SimpleNamespace

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe

from membership.access import READER_EDITOR, reader_for_request, reader_version
from portal.cache import content_changed, current_generation, shared_cache

HIT_HEADER = "X-Page-Cache"


class _LocalPages:
    """A small in-process copy of recently served pages, so a hit needs no round trip to Redis
    at all. Entries are only ever served while their generation is the current one (which
    portal.cache re-reads at most twice a second), exactly as the shared ones."""

    def __init__(self, size: int = 256):
        self.size = size
        self.lock = threading.Lock()
        self.pages: OrderedDict[str, tuple] = OrderedDict()

    def get(self, key: str):
        with self.lock:
            entry = self.pages.get(key)
            if entry is not None:
                self.pages.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple) -> None:
        with self.lock:
            self.pages[key] = entry
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


_local = _LocalPages()


def page_cache_clear() -> None:
    """Forget every cached page, here and (through a new generation) in every process."""
    for pages in (_local, _readers_local):
        with pages.lock:
            pages.pages.clear()
    content_changed()


def _key(request) -> str:
    url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return "page-cache:" + hashlib.blake2b(url.encode(), digest_size=16).hexdigest()


def _anonymous(request) -> bool:
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and "messages" not in cookies


class AnonymousPageCacheMiddleware:
    """Serve and store whole pages for anonymous GET requests (see the module docstring).

    Put it high in MIDDLEWARE, right after WhiteNoise, so a hit skips everything below it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not getattr(settings, "PAGE_CACHE_ENABLED", True):
            return self.get_response(request)
        if request.method != "GET" or not _anonymous(request) or getattr(request, "is_dummy", 0):
            return self._private(request, self.get_response(request))
        cache = shared_cache()
        key = _key(request)
        generation = current_generation()
        entry = _local.get(key)
        if entry is not None and generation is not None and entry[0] == generation:
            return self._replay(entry)
        entry = cache.get(key)
        if entry is not None and generation is not None and entry[0] == generation:
            _local.put(key, entry)
            return self._replay(entry)
        response = self.get_response(request)
        if self._storable(request, response):
            if generation is None:
                generation = content_changed()
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            timeout = getattr(settings, "PAGE_CACHE_SECONDS", 600)
            patch_cache_control(
                response, public=True, max_age=0, s_maxage=settings.PAGE_CACHE_CDN_SECONDS
            )
            headers = [(k, v) for k, v in response.items() if k.lower() != "content-length"]
            entry = (generation, response.status_code, headers, response.content)
            cache.set(key, entry, timeout)
            _local.put(key, entry)
            response[HIT_HEADER] = "miss"
        return response

    @staticmethod
    def _storable(request, response) -> bool:
        if not getattr(request, "page_cache_ok", False) or response.status_code != 200:
            return False
        if getattr(request, "is_preview", False):
            return False  # a draft must never be replayed as the live page
        if response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            return False
        if getattr(response, "streaming", False):
            return False
        cache_control = response.get("Cache-Control", "")
        if "private" in cache_control or "no-store" in cache_control:
            return False
        user = getattr(request, "user", None)
        return not (user is not None and user.is_authenticated)

    @staticmethod
    def _replay(entry) -> HttpResponse:
        _generation, status, headers, content = entry
        response = HttpResponse(content, status=status)
        for name, value in headers:
            response[name] = value
        response[HIT_HEADER] = "hit"
        return response

    @staticmethod
    def _private(request, response):
        # A logged-in reader's page must not be kept by a browser cache or a CDN either.
        if (
            getattr(request, "page_cache_ok", False)
            and not _anonymous(request)
            and "Cache-Control" not in response
        ):
            patch_cache_control(response, private=True, no_cache=True)
        return response


# -- Signed-in readers ---------------------------------------------------------------------------

READER_HIT_HEADER = "X-Reader-Page-Cache"
ACCOUNT_NAV_TEMPLATE = "includes/account_nav.html"

_readers_local = _LocalPages(size=512)


class ReaderSlots:
    """Stand-ins a page rendered for a tier prints instead of one person's parts (her name, her
    account links, the logout form's CSRF token), filled in for each response. The marker
    carries a value derived from SECRET_KEY, so no text on a page can forge one."""

    def __init__(self):
        secret = hashlib.blake2b(settings.SECRET_KEY.encode(), digest_size=8).hexdigest()
        self.account = mark_safe(f"<!--reader-account-{secret}-->")  # noqa: S308 our own marker


_slots: ReaderSlots | None = None


def reader_slots() -> ReaderSlots:
    global _slots
    if _slots is None:
        _slots = ReaderSlots()
    return _slots


_CSRF_STAND_IN = "csrf-token-stand-in"
_account_parts: dict = {}


def _account_html(reader) -> tuple[str, str]:
    """The reader's account links, rendered once per Reader in this process, as the HTML
    before and after the logout form's CSRF token (a fresh one goes in for each response)."""
    parts = _account_parts.get(reader)
    if parts is None:
        html = render_to_string(
            ACCOUNT_NAV_TEMPLATE,
            {
                "user": SimpleNamespace(
                    is_authenticated=True, is_staff=False, get_full_name=reader.name, email=""
                ),
                "csrf_token": _CSRF_STAND_IN,
            },
        )
        before, _, after = html.partition(_CSRF_STAND_IN)
        parts = (before, after)
        if len(_account_parts) > 4096:
            _account_parts.clear()
        _account_parts[reader] = parts
    return parts


def _fill(content: bytes, request, reader) -> bytes:
    """The cached page with this reader's own parts in their stand-ins."""
    before, after = _account_html(reader)
    account = f"{before}{get_token(request)}{after}"
    return content.replace(reader_slots().account.encode(), account.encode())


class ReaderPageCacheMiddleware:
    """The page cache for signed-in readers: whole article, index and home pages kept per
    address, content generation and reader tier (non-member or member; editors and staff are
    never cached, nor is anyone with a message waiting), with the reader's own parts left as
    stand-ins and filled in for each response (ReaderSlots). Who the reader is comes from
    `membership.access.reader_for_request`, which needs no query while its answer holds, and
    the route is not looked up at all on a hit, so a hit costs the session's and the reader's
    cache reads and no database round trip.

    Goes last in MIDDLEWARE, below sessions, CSRF and authentication (whose lazy user a hit
    never loads), and above the article routing, which a hit skips. A stored entry is only
    what the view rendered; every middleware above still runs on each response (private
    Cache-Control, CSP, X-Frame-Options, the CSRF cookie).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            not getattr(settings, "PAGE_CACHE_ENABLED", True)
            or request.method != "GET"
            or settings.SESSION_COOKIE_NAME not in request.COOKIES
            or "messages" in request.COOKIES
            or getattr(request, "is_dummy", 0)
        ):
            return self.get_response(request)
        reader = reader_for_request(request)
        if reader is None or reader.tier == READER_EDITOR or "_messages" in request.session:
            return self.get_response(request)
        generation = current_generation()
        key = f"{_key(request)}:{reader.tier}"
        entry = _readers_local.get(key)
        if entry is None or generation is None or entry[0] != generation:
            entry = shared_cache().get(key)
            if entry is not None and generation is not None and entry[0] == generation:
                _readers_local.put(key, entry)
            else:
                return self._render(request, reader, key, generation)
        _generation, status, headers, content = entry
        response = HttpResponse(_fill(content, request, reader), status=status)
        for name, value in headers:
            response[name] = value
        response[READER_HIT_HEADER] = "hit"
        return response

    def _render(self, request, reader, key, generation):
        request.reader_slots = reader_slots()
        version = reader_version()
        response = self.get_response(request)
        if getattr(response, "streaming", False):
            return response
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        if not self._storable(request, response):
            # Any page below may wear the site's chrome, cached or not: fill in the reader's
            # parts all the same.
            if reader_slots().account.encode() in response.content:
                response.content = _fill(response.content, request, reader)
            return response
        content = response.content
        # A membership or permission change during the render may have shown this page to a
        # tier other than the one it would be stored under: keep nothing then.
        if generation is None:
            generation = content_changed()
        if reader_version() == version:
            headers = [
                (k, v)
                for k, v in response.items()
                if k.lower() not in {"content-length", "cache-control", "vary"}
            ]
            entry = (generation, response.status_code, headers, content)
            shared_cache().set(key, entry, getattr(settings, "PAGE_CACHE_SECONDS", 600))
            _readers_local.put(key, entry)
        response.content = _fill(content, request, reader)
        response[READER_HIT_HEADER] = "miss"
        return response

    @staticmethod
    def _storable(request, response) -> bool:
        if not getattr(request, "page_cache_ok", False) or response.status_code != 200:
            return False
        if getattr(request, "is_preview", False) or getattr(response, "streaming", False):
            return False
        # A page that handed out a CSRF token or set a cookie carries one person's values.
        if response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            return False
        return "no-store" not in response.get("Cache-Control", "")
