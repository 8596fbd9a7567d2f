"""Blog background jobs."""

from celery import shared_task
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.cache import cache
from wagtail.admin import signal_handlers
from wagtail.contrib.frontend_cache.utils import PurgeBatch
from wagtail.models import Page, Site

from portal.retry import CDN_RETRY


@shared_task(**CDN_RETRY)
def frontend_cache_purge_listings(page_pk: int) -> None:
    """Ask the CDN to drop the pages that list `page_pk`: its parent (with the feeds when the
    parent is the articles index) and the home page. Wagtail already purges the page itself.

    Purging is idempotent, so running this twice costs a second purge and nothing else.
    """
    page = Page.objects.filter(pk=page_pk).first()
    if page is None:
        return
    batch = PurgeBatch()
    parent = page.get_parent().specific
    batch.add_page(parent)
    if hasattr(parent, "feed_urls"):
        root_url = parent.get_site().root_url if parent.get_site() else ""
        batch.add_urls(root_url + url for url in parent.feed_urls())
    for site in Site.objects.select_related("root_page"):
        batch.add_page(site.root_page)
    batch.purge()


@shared_task
def moderation_notify(
    notifier_name: str, model_label: str, instance_pk: int, user_pk: int | None
) -> bool:
    """Send one of Wagtail's moderation emails (`notifier_name` is one of the notifiers in
    wagtail.admin.signal_handlers), which Wagtail would send inside the editor's request. Runs
    once per event: a second delivery of the same job finds its mark in the cache and sends
    nothing (no retries either, since a failed send may have reached some recipients; Wagtail
    logs each failure). Not portal.sendonce: Wagtail's notifier sends one mail per moderator
    itself, so a retry after a partial failure would double the ones already sent."""
    if not cache.add(f"blog:moderation-notify:{notifier_name}:{instance_pk}", 1, 7 * 24 * 3600):
        return False
    instance = apps.get_model(model_label).objects.filter(pk=instance_pk).first()
    if instance is None:
        return False
    user = get_user_model().objects.filter(pk=user_pk).first() if user_pk else None
    notifier = getattr(signal_handlers, notifier_name)
    return bool(notifier(instance=instance, user=user))
