from django.apps import AppConfig


class ConferencesConfig(AppConfig):
    name = "conferences"
    verbose_name = "Conferences"

    def ready(self) -> None:
        # Stripe webhooks reach us through payments' registry, keyed by the metadata "kind"
        # we put on our Checkout Sessions, so payments never imports this app.
        # local: these modules import models, which Django loads only once the app registry
        # is ready, that is, here.
        from payments import invoicing
        from payments import services as payments

        from . import attendee_mail, signals
        from .services import order_checkout_completed, order_invoice_paid

        signals.connect()
        attendee_mail.connect()

        payments.register_checkout_handler("conference_order", order_checkout_completed)
        # The order's confirmation mail is its receipt, with the PDFs attached (tasks.py).
        invoicing.register_invoice_kind(
            "conference_order", on_paid=order_invoice_paid, mails_own_receipt=True
        )
