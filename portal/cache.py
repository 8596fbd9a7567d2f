"""Caches every page of the site relies on: the content generation, the Wagtail site of a host,
the pages under a view restriction, and whether a user may use the admin.

Published content carries one version number, the *content generation*. Publishing,
unpublishing, moving or deleting a page, or saving a snippet pages show, starts a new one
(blog/signals.py), so anything cached under an older generation (whole anonymous pages,
rendered fragments, the site of a host) stops matching at once, in every process, without
anyone having to know which keys to delete.

Each process keeps the generation in memory and re-reads it from the shared cache at most every
PAGE_CACHE_GENERATION_CHECK_SECONDS (half a second), so a page view usually costs no round trip
for it; a change made by another process reaches this one within that time, its own at once.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import BaseCache, caches
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http.request import split_domain_port
from wagtail.models import PageViewRestriction, Site

GENERATION_KEY = "page-cache:generation"
ADMIN_ACCESS_VERSION_KEY = "portal:admin-access-version"
ADMIN_ACCESS_SECONDS = 3600


def shared_cache() -> BaseCache:
    return caches[getattr(settings, "PAGE_CACHE_ALIAS", "default")]


class _Generation:
    """This process's copy of the content generation, plus small values derived from it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.value: int | None = None
        self.checked_at = 0.0
        self.derived: dict[str, tuple[int, object]] = {}

    def current(self) -> int | None:
        interval = getattr(settings, "PAGE_CACHE_GENERATION_CHECK_SECONDS", 0.5)
        now = time.monotonic()
        if self.value is None or now - self.checked_at >= interval:
            self.value = shared_cache().get(GENERATION_KEY)
            self.checked_at = now
        return self.value

    def set(self, value: int | None) -> None:
        self.value = value
        self.checked_at = time.monotonic() if value is not None else 0.0


_generation = _Generation()


def content_changed() -> int:
    """Start a new content generation: everything cached under an older one is ignored from
    now on, by every process sharing the cache. Returns the new generation."""
    generation = time.time_ns()
    shared_cache().set(GENERATION_KEY, generation, None)
    _generation.set(generation)
    return generation


# What other apps keep in memory beside the shared cache (membership's Readers), dropped with
# the rest by forget_local.
_local_copies: list = []


def register_local_copy(forget) -> None:
    """Have forget_local() call `forget()` too."""
    if forget not in _local_copies:
        _local_copies.append(forget)


def forget_local() -> None:
    """Drop what this process keeps (the generation, values derived from it, the chrome's
    fragments, what apps registered), so the next request reads everything afresh. For tests,
    which empty the shared cache between cases and must not see another case's sites or pages."""
    with _generation.lock:
        _generation.derived.clear()
    _generation.set(None)
    caches["fragments"].clear()
    for forget in _local_copies:
        forget()


def content_changed_on_commit() -> None:
    """For a change made inside a transaction: start a new generation now, so this process
    stops serving the old content at once, and again after the commit, so a request that
    caches between the change and the commit cannot keep the old content under the new
    generation."""
    content_changed()
    transaction.on_commit(content_changed)


def current_generation() -> int | None:
    """The generation as this process last read it, or None when the cache has none yet."""
    return _generation.current()


def content_generation() -> int:
    """The current generation: a version for anything cached that published content shows."""
    generation = _generation.current()
    return generation if generation is not None else content_changed()


def per_generation(name: str, build):
    """`build()`, computed once per content generation in this process. For small values every
    request needs (the sites, the routes into an articles index), so that a page view costs
    neither a query nor a round trip for them."""
    generation = content_generation()
    found = _generation.derived.get(name)
    if found is not None and found[0] == generation:
        return found[1]
    value = build()
    with _generation.lock:
        _generation.derived[name] = (generation, value)
    return value


# -- Wagtail sites -----------------------------------------------------------------------------


def site_for_request(request):
    """Wagtail's site for this request (`Site.find_for_request`), remembered per host and port
    for the current generation; saving a Site starts a new one."""
    if hasattr(request, "_wagtail_site"):
        return request._wagtail_site
    sites = per_generation("sites", dict)
    # The raw host, as Wagtail uses it; ALLOWED_HOSTS has already limited what arrives here.
    key = (split_domain_port(request._get_raw_host())[0], request.get_port())
    if key not in sites:
        if len(sites) > 64:
            sites.clear()
        sites[key] = Site._find_for_request(request)
    request._wagtail_site = sites[key]
    return request._wagtail_site


class CachedSiteMiddleware:
    """Finds the request's Wagtail site without a query (see `site_for_request`); Wagtail,
    site settings and routing then read it from the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        site_for_request(request)
        return self.get_response(request)


# -- View restrictions -------------------------------------------------------------------------


def restricted_paths() -> list[str]:
    """Tree paths of pages with a Wagtail view restriction (login, group, password), read once
    per generation in each process: saving or deleting a restriction starts a new one."""

    def build():
        return list(PageViewRestriction.objects.values_list("page__path", flat=True))

    return per_generation("restricted-paths", build)


def exclude_restricted(queryset):
    """`queryset` of pages without those under a view restriction: what Wagtail's `.public()`
    does, without its query on every call."""
    for restricted in restricted_paths():
        queryset = queryset.exclude(path__startswith=restricted)
    return queryset


class CachedViewRestrictionsMixin:
    """For page models: Wagtail checks a page's view restrictions on every view, two queries
    (the ancestors, then the restrictions). While no page on the site has a restriction, which
    is the usual case (members-only articles use their own flag), the answer is known without
    asking; once one exists, Wagtail's own check runs."""

    def get_view_restrictions(self):
        if not restricted_paths():
            return PageViewRestriction.objects.none()
        return super().get_view_restrictions()


# -- Admin access --------------------------------------------------------------------------------


def may_use_admin(user) -> bool:
    """Whether `user` may use the Wagtail admin (editors, moderators, staff), for page chrome
    such as the Wagtail user bar and for readers who must see what they publish.

    Asking Django costs two permission queries per request, so the answer is kept in the shared
    cache per user; saving the user, changing their groups or permissions, or changing any
    group's permissions forgets it (the signal handlers below). The admin itself checks
    permissions as usual.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cache = shared_cache()
    key = f"portal:admin-access:{user.pk}"
    found = cache.get_many([key, ADMIN_ACCESS_VERSION_KEY])
    version = found.get(ADMIN_ACCESS_VERSION_KEY, 0)
    entry = found.get(key)
    if entry is not None and entry[0] == version:
        return entry[1]
    answer = user.has_perm("wagtailadmin.access_admin")
    cache.set(key, (version, answer), ADMIN_ACCESS_SECONDS)
    return answer


def _forget_user_admin_access(sender, instance, **kwargs):
    shared_cache().delete(f"portal:admin-access:{instance.pk}")


def _forget_all_admin_access(**kwargs):
    shared_cache().set(ADMIN_ACCESS_VERSION_KEY, time.time_ns(), None)


def _groups_or_permissions_changed(sender, instance, action, **kwargs):
    if not action.startswith("post_"):
        return
    if isinstance(instance, get_user_model()):
        _forget_user_admin_access(sender, instance)
    else:
        # Changed from a group's or a permission's side: any number of users, so forget all.
        _forget_all_admin_access()


def connect_admin_access_signals() -> None:
    user_model = get_user_model()
    post_save.connect(_forget_user_admin_access, sender=user_model, dispatch_uid="admin-access-u")
    post_delete.connect(_forget_all_admin_access, sender=Group, dispatch_uid="admin-access-gd")
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(
            _groups_or_permissions_changed, sender=through, dispatch_uid=f"admin-access-{through}"
        )


# A preview shows a draft under the live page's id and revision, the very key the live page's
# fragments are cached under; reading that cache would show the live page instead of the
# draft. Previews render through a cache that keeps nothing (settings: CACHES["preview"]).
PREVIEW_CACHE_ALIAS = "preview"


def fragment_cache_alias(request) -> str:
    """The cache a page's `{% cache ... using=fragment_cache %}` tags use for this request:
    none at all for a preview or "View draft", the default cache otherwise."""
    return PREVIEW_CACHE_ALIAS if getattr(request, "is_preview", False) else "default"
