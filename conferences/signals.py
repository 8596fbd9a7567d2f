"""Cache plumbing: a change to what a checkout reads from selectors.checkout_catalogue starts a
new content generation, so no process goes on selling from the old catalogue."""

from django.db.models.signals import post_delete, post_save

from portal.cache import content_changed_on_commit

from .models import ConferencePage, Session, TicketType


def _catalogue_changed(sender, instance, **kwargs):
    content_changed_on_commit()


def connect() -> None:
    for model in (ConferencePage, TicketType, Session):
        for signal in (post_save, post_delete):
            signal.connect(
                _catalogue_changed,
                sender=model,
                dispatch_uid=f"conferences-catalogue-{model.__name__}-{signal is post_save}",
            )
