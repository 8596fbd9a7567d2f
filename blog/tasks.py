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


# Wagtail's moderation notifications (submitted, approved, rejected), by the dispatch_uid
# Wagtail connects each under, and the notifier that writes it.
MODERATION_NOTIFIERS = {
    "group_approval_task_submitted_email_notification": "task_submission_email_notifier",
    "workflow_state_submitted_email_notification": "workflow_submission_email_notifier",
    "workflow_state_rejected_email_notification": "workflow_rejection_email_notifier",
    "workflow_state_approved_email_notification": "workflow_approval_email_notifier",
}


@shared_task
def moderation_notify(
    dispatch_uid: str, model_label: str, instance_pk: int, user_pk: int | None
) -> bool:
    """Send one of Wagtail's moderation emails, which Wagtail would send inside the editor's
    request. Runs once per event: a second delivery of the same job finds its mark in the
    cache and sends nothing (no retries either, since a failed send may have reached some
    recipients; Wagtail logs each failure)."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from wagtail.admin import signal_handlers

    if not cache.add(f"blog:moderation-notify:{dispatch_uid}:{instance_pk}", 1, 7 * 24 * 3600):
        return False
    instance = apps.get_model(model_label).objects.filter(pk=instance_pk).first()
    if instance is None:
        return False
    user = get_user_model().objects.filter(pk=user_pk).first() if user_pk else None
    notifier = getattr(signal_handlers, MODERATION_NOTIFIERS[dispatch_uid])
    return bool(notifier(instance=instance, user=user))
