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
