"""Wagtail hooks for articles."""

from django.conf import settings
from wagtail import hooks


@hooks.register("before_serve_page")
def allow_page_cache(page, request, serve_args, serve_kwargs):
    # Pages the blog does not own (the home page) opt into the anonymous page cache by model
    # name in settings; blog pages mark themselves. Pages not listed are never cached, since
    # they may show live data (seats left, a basket) that no publish signal invalidates.
    if page._meta.label in settings.PAGE_CACHE_PAGE_MODELS:
        request.page_cache_ok = True
