"""Load the demo association: pages, people, plans, a conference and lists.

Each app that has demo content provides `<app>/demo.py` with a `load(stdout)` function; they run
in INSTALLED_APPS order, so the portal's home page and users exist before the apps that hang
content on them. Every loader checks before it creates, so running this twice changes nothing.
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Create the demo content and demo accounts (demo mode only; safe to run again)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Refusing to load demo accounts: DEMO_MODE is off.")
        for config in apps.get_app_configs():
            module_name = f"{config.name}.demo"
            if config.name.split(".")[0] not in {
                "portal",
                "blog",
                "membership",
                "conferences",
                "discussions",
                "elections",
                "education",
                "library",
                "courses",
            }:
                continue
            if find_spec(module_name) is None:
                continue
            with transaction.atomic():
                import_module(module_name).load(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo content is in place."))
