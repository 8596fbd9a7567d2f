from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        # Imported here, not at the top: they need the app registry, which is not ready while
        # Django imports this module.
        from . import (
            checks,  # noqa: F401  (registers the deploy checks)
            converters,
        )
        from .cache import connect_admin_access_signals

        connect_admin_access_signals()
        # Before any URLconf is loaded: the apps' URLs use <id:...> for database ids.
        converters.register()
