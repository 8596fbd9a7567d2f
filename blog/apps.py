from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "blog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Here, not at the top: the handlers import models, not ready while Django imports this.
        from . import alerts, signals

        signals.connect()
        signals.connect_moderation_mail()
        alerts.connect()
