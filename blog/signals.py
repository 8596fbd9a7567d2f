"""Keep cached pages honest: when content changes, start a new page-cache generation (and ask
the CDN, if one is configured, to drop the listings that showed the page).

These are cache plumbing, not business rules, which is why they may live in signal handlers.
"""

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from wagtail.signals import page_published, page_unpublished, post_page_move

from portal.cache import content_changed_on_commit


def _page_changed(sender, instance, **kwargs):
    content_changed_on_commit()
    if getattr(settings, "WAGTAILFRONTENDCACHE", None):
        from .tasks import frontend_cache_purge_listings

        page_pk = instance.pk
        transaction.on_commit(lambda: frontend_cache_purge_listings.delay(page_pk))


def _page_deleted(sender, instance, **kwargs):
    content_changed_on_commit()


def connect() -> None:
    page_published.connect(_page_changed, dispatch_uid="blog-page-cache-published")
    page_unpublished.connect(_page_changed, dispatch_uid="blog-page-cache-unpublished")
    post_page_move.connect(_page_changed, dispatch_uid="blog-page-cache-moved")
    from wagtail.models import Page, PageViewRestriction

    post_delete.connect(_page_deleted, sender=Page, dispatch_uid="blog-page-cache-deleted")
    for signal in (post_save, post_delete):
        # portal.cache keeps the restricted pages per generation.
        signal.connect(
            _page_deleted,
            sender=PageViewRestriction,
            dispatch_uid=f"blog-restrictions-{signal is post_save}",
        )
    for label in settings.PAGE_CACHE_INVALIDATING_MODELS:
        model = apps.get_model(label)
        uid = f"blog-page-cache-{label}"
        post_save.connect(_page_deleted, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(_page_deleted, sender=model, dispatch_uid=uid + "-delete")
