from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from .cache import connect_admin_access_signals

        connect_admin_access_signals()
