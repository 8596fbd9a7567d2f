from django.apps import AppConfig


class ConferencesConfig(AppConfig):
    name = "conferences"
    verbose_name = "Conferences"

    def ready(self) -> None:
        # Stripe webhooks reach us through the gateway's registry, keyed by the metadata
        # "kind" we put on our Checkout Sessions, so membership never imports this app.
        from membership import stripe_gateway

        from . import signals
        from .services import order_checkout_completed

        signals.connect()

        stripe_gateway.register_checkout_handler("conference_order", order_checkout_completed)
