"""Keep cached pages honest: when content changes, start a new page-cache generation (and ask
the CDN, if one is configured, to drop the listings that showed the page).

These are cache plumbing, not business rules, which is why they may live in signal handlers.
"""

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from wagtail.models import Page, PageViewRestriction, TaskState, WorkflowState
from wagtail.signals import (
    page_published,
    page_unpublished,
    post_page_move,
    task_submitted,
    workflow_approved,
    workflow_rejected,
    workflow_submitted,
)

from portal.cache import content_changed_on_commit

from .tasks import frontend_cache_purge_listings, moderation_notify


def _page_changed(sender, instance, **kwargs):
    content_changed_on_commit()
    if getattr(settings, "WAGTAILFRONTENDCACHE", None):
        page_pk = instance.pk
        transaction.on_commit(lambda: frontend_cache_purge_listings.delay(page_pk))


def _page_deleted(sender, instance, **kwargs):
    content_changed_on_commit()


def _queue_moderation_mail(notifier_name):
    def handler(sender, instance, user=None, **kwargs):
        label, pk, user_pk = instance._meta.label, instance.pk, getattr(user, "pk", None)
        transaction.on_commit(lambda: moderation_notify.delay(notifier_name, label, pk, user_pk))

    return handler


def connect_moderation_mail() -> None:
    """Send Wagtail's moderation emails from a Celery job instead of the editor's request.

    Our handlers are connected under Wagtail's own dispatch_uids before wagtail.admin's ready()
    connects its in-request senders, which Django then ignores as already connected. That
    needs this app above wagtail.admin in INSTALLED_APPS; tests/blog/test_workflow.py checks
    that the mail does not go out in the request.
    """
    # Wagtail's dispatch_uid, its signal and sender, and the notifier (in
    # wagtail.admin.signal_handlers) that writes the mail, as wagtail.admin connects them.
    notifications = [
        (
            "group_approval_task_submitted_email_notification",
            task_submitted,
            TaskState,
            "task_submission_email_notifier",
        ),
        (
            "workflow_state_submitted_email_notification",
            workflow_submitted,
            WorkflowState,
            "workflow_submission_email_notifier",
        ),
        (
            "workflow_state_rejected_email_notification",
            workflow_rejected,
            WorkflowState,
            "workflow_rejection_email_notifier",
        ),
        (
            "workflow_state_approved_email_notification",
            workflow_approved,
            WorkflowState,
            "workflow_approval_email_notifier",
        ),
    ]
    for uid, signal, sender, notifier_name in notifications:
        signal.connect(
            _queue_moderation_mail(notifier_name), sender=sender, dispatch_uid=uid, weak=False
        )


def connect() -> None:
    page_published.connect(_page_changed, dispatch_uid="blog-page-cache-published")
    page_unpublished.connect(_page_changed, dispatch_uid="blog-page-cache-unpublished")
    post_page_move.connect(_page_changed, dispatch_uid="blog-page-cache-moved")
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
