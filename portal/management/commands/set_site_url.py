"""Point the default Wagtail Site at SITE_URL, so absolute links (canonical, og:url, sitemap,
feeds) carry the public address. Run it once after deploying, and again if SITE_URL changes."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from portal.sites import sync_default_site


class Command(BaseCommand):
    help = "Set the default Wagtail Site's hostname and port from SITE_URL (or the given URL)."

    def add_arguments(self, parser):
        parser.add_argument("url", nargs="?", help="defaults to the SITE_URL setting")

    def handle(self, *args, url=None, **options):
        try:
            site = sync_default_site(url or settings.SITE_URL)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if site is None:
            raise CommandError("There is no default Wagtail Site to update.")
        self.stdout.write(f"Default site is now {site.hostname}:{site.port}.")
