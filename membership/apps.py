from django.apps import AppConfig


class MembershipConfig(AppConfig):
    name = "membership"
    verbose_name = "Membership"

    def ready(self):
        from . import services, stripe_gateway

        stripe_gateway.register_checkout_handler(
            stripe_gateway.MEMBERSHIP_KIND, services.membership_apply_checkout
        )
        stripe_gateway.register_subscription_handler(
            stripe_gateway.MEMBERSHIP_KIND, services.membership_apply_subscription
        )
        stripe_gateway.register_refund_handler(
            stripe_gateway.MEMBERSHIP_KIND, services.membership_apply_refund
        )
        from allauth.account.signals import email_changed

        email_changed.connect(_queue_customer_email_sync, dispatch_uid="membership-email-sync")


def _queue_customer_email_sync(sender, user, **kwargs):
    # A member confirmed a new address: Stripe's copy (receipts, card reminders) follows,
    # through a job, since the request must not wait on Stripe.
    from django.db import transaction

    from .tasks import customer_email_sync

    user_id = user.pk
    transaction.on_commit(lambda: customer_email_sync.delay(user_id))
