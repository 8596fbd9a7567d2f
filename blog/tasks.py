"""Blog background jobs."""

from celery import shared_task
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.cache import cache
from wagtail.admin import signal_handlers
from wagtail.contrib.frontend_cache.utils import PurgeBatch
from wagtail.models import Page, Site

from portal.retry import CDN_RETRY, SMTP_RETRY
from portal.sendonce import send_once_stamped


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


# --- new-article alerts (blog/alerts.py) ------------------------------------------------------


@shared_task(acks_late=True)
def article_alerts_fan_out(page_id: int) -> int:
    from . import alerts

    return alerts.alerts_fan_out(page_id=page_id)


@shared_task(**SMTP_RETRY)
def send_article_alert(alert_id: int) -> bool:
    from . import alerts
    from .models import ArticleAlert

    return send_once_stamped(
        ArticleAlert,
        alert_id,
        "sent_at",
        lambda: alerts.alert_build(
            ArticleAlert.objects.select_related("subscription").get(pk=alert_id)
        ),
    )


@shared_task(**SMTP_RETRY)
def send_follow_confirmation(subscription_id: int) -> bool:
    from . import alerts
    from .models import ArticleAlertSubscription

    return send_once_stamped(
        ArticleAlertSubscription,
        subscription_id,
        "confirm_sent_at",
        lambda: alerts.confirmation_build(ArticleAlertSubscription.objects.get(pk=subscription_id)),
    )


@shared_task(acks_late=True)
def article_roundups_prepare() -> int:
    from . import alerts

    ids = alerts.roundups_prepare()
    for pk in ids:
        send_article_roundup.delay(pk)
    return len(ids)


@shared_task(**SMTP_RETRY)
def send_article_roundup(roundup_id: int) -> bool:
    from . import alerts
    from .models import ArticleRoundup

    return send_once_stamped(
        ArticleRoundup,
        roundup_id,
        "sent_at",
        lambda: alerts.roundup_build(
            ArticleRoundup.objects.select_related("subscription").get(pk=roundup_id)
        ),
    )
