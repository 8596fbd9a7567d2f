"""A shortcut through Wagtail's routing for article URLs.

Wagtail finds a page by walking the tree from the site's root, two queries per level (the
child, then its specific row): four queries before an article is even fetched. The articles
index pages are few and change rarely, so this middleware keeps them in memory (rebuilt with
each content generation, i.e. whenever anything is published, unpublished or moved) and
hands the request straight to the index's own `route()`, which fetches a post in one query.

Wagtail's serve view then uses the route found here (`Page.route_for_request` keeps the result
on the request), and everything after routing (view restrictions, `before_serve_page` hooks,
`serve()`) happens exactly as before. URLs outside an articles index are left alone.
"""

from __future__ import annotations

from django.http import Http404
from wagtail.models import Site

from portal.cache import per_generation, site_for_request

from .models import BlogIndexPage


def _build_index_routes() -> list[tuple[int, str, object]]:
    routes = []
    root_paths = Site.get_site_root_paths()
    for index in BlogIndexPage.objects.live():
        for site_root in root_paths:
            if index.url_path.startswith(site_root.root_path):
                relative = "/" + index.url_path[len(site_root.root_path) :]
                routes.append((site_root.site_id, relative, index))
    return routes


def _index_routes() -> list[tuple[int, str, object]]:
    """[(site id, index path relative to its site root, index page)] for live articles
    indexes, built once per content generation in each process."""
    return per_generation("blog:index-routes", _build_index_routes)


def route_article_request(request) -> None:
    """Store Wagtail's route for `request` when it is for an articles index or below it."""
    if request.method not in {"GET", "HEAD"} or hasattr(request, "_wagtail_route_for_request"):
        return
    path = request.path_info
    routes = _index_routes()
    candidates = [route for route in routes if path.startswith(route[1])]
    if not candidates:
        return
    site = site_for_request(request)
    for site_id, relative, index in candidates:
        if site is None or site.pk != site_id:
            continue
        components = [part for part in path[len(relative) :].split("/") if part]
        try:
            request._wagtail_route_for_request = index.route(request, components)
        except Http404:
            return
        return


class ArticleRouteMiddleware:
    """Route article and articles-index requests in one query (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        route_article_request(request)
        return self.get_response(request)
