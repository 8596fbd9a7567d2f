from django.apps import AppConfig
from django.db import transaction


class MembershipConfig(AppConfig):
    name = "membership"
    verbose_name = "Membership"

    def ready(self):
        # Imported here, not at the top: Django reads apps.py before any app's models can
        # load, and these modules (and the allauth ones below) import models.
        from payments import gateway
        from payments import services as payments

        from . import access, services

        access.connect_reader_signals()

        payments.register_checkout_handler(
            gateway.MEMBERSHIP_KIND, services.membership_apply_checkout
        )
        payments.register_subscription_handler(
            gateway.MEMBERSHIP_KIND, services.membership_apply_subscription
        )
        payments.register_refund_handler(gateway.MEMBERSHIP_KIND, services.membership_apply_refund)
        from payments import invoicing

        invoicing.register_invoice_kind(
            "membership",
            on_paid=services.membership_invoice_paid,
            on_part_paid=services.membership_invoice_part_paid,
            mails_own_receipt=False,
        )
        from allauth.account.signals import email_changed, password_reset
        from allauth.mfa.signals import authenticator_added

        email_changed.connect(_queue_customer_email_sync, dispatch_uid="membership-email-sync")
        password_reset.connect(_verify_after_reset, dispatch_uid="membership-reset-verifies")
        authenticator_added.connect(_record_second_factor, dispatch_uid="membership-mfa-added")


def _queue_customer_email_sync(sender, user, **kwargs):
    # A member confirmed a new address: Stripe's copy (receipts, card reminders) follows,
    # through a job, since the request must not wait on Stripe.
    from .tasks import customer_email_sync  # imports models: not loadable when apps.py is read

    user_id = user.pk
    transaction.on_commit(lambda: customer_email_sync.delay(user_id))


def _verify_after_reset(sender, request, user, **kwargs):
    # How an imported member claims their account: the reset link proves their address.
    from .services import account_verify_after_reset  # imports models

    account_verify_after_reset(user)


def _record_second_factor(sender, request, user, authenticator, **kwargs):
    # Setting up an authenticator app means typing a code from it, so the session has used
    # the second factor: staff go on to the staff page instead of typing a second code (which
    # allauth would refuse within the same 30 seconds anyway). Recovery codes prove nothing.
    # Both import models, which cannot load when apps.py is read.
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator

    if request is None or authenticator.type == Authenticator.Type.RECOVERY_CODES:
        return
    record_authentication(
        request, user, "mfa", id=authenticator.pk, type=authenticator.type, activated=True
    )
