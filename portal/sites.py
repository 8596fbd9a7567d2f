"""The Wagtail Site's address follows SITE_URL.

Wagtail builds every absolute URL (canonical links, og:url, the sitemap, feed items) from the
default Site's hostname and port, not from the request. Left at the installer's
`localhost:80`, every one of them pointed at http://localhost/. `load_demo` and
`manage.py set_site_url` write SITE_URL's host and port onto the default Site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def host_and_port(site_url: str) -> tuple[str, int]:
    """The hostname and port Wagtail needs for `site_url` (the scheme's default port when
    the address names none)."""
    parts = urlsplit(site_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"SITE_URL must be an http(s) address, not {site_url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, port


def sync_default_site(site_url: str | None = None):
    """Point the default Wagtail Site at `site_url` (SITE_URL by default); returns the site,
    or None when there is no default site yet. Saving only on a change keeps this idempotent."""
    from wagtail.models import Site

    hostname, port = host_and_port(site_url or settings.SITE_URL)
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        return None
    if (site.hostname, site.port) != (hostname, port):
        site.hostname, site.port = hostname, port
        site.save()  # Site.save clears Wagtail's cached site root paths
    return site
