"""Blog background jobs."""

from celery import shared_task
from wagtail.contrib.frontend_cache.utils import PurgeBatch
from wagtail.models import Page, Site


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
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
