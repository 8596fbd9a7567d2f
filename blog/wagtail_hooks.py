"""Wagtail hooks for articles."""

from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks


@hooks.register("before_serve_page")
def allow_page_cache(page, request, serve_args, serve_kwargs):
    # Pages the blog does not own (the home page) opt into the anonymous page cache by model
    # name in settings; blog pages mark themselves. Pages not listed are never cached, since
    # they may show live data (seats left, a basket) that no publish signal invalidates.
    if page._meta.label in settings.PAGE_CACHE_PAGE_MODELS:
        request.page_cache_ok = True


@hooks.register("insert_editor_js")
def name_tag_inputs():
    # A file, not inline script: the admin's CSP is to lose 'unsafe-inline' in time.
    return format_html('<script src="{}" defer></script>', static("blog/js/admin-labels.js"))
