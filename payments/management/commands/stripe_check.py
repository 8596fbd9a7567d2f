"""`manage.py stripe_check`: is the Stripe account ready for the portal?

Checks the keys, the API version Stripe answers with, the webhook endpoint for this site and
its events, and the Customer Portal configuration. Prints one line per check and exits
non-zero when any fails, so a deploy script can stop on it. `--fix` creates (or corrects) the
portal configuration; nothing else is changed, since the webhook endpoint's signing secret has
to go into STRIPE_WEBHOOK_SECRET by hand anyway.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from payments import gateway, services


def _masked(key: str) -> str:
    return f"{key[:8]}…{key[-4:]}" if len(key) > 16 else key


class Command(BaseCommand):
    help = (
        "Check the Stripe account: keys, API version, webhook endpoint and its events, "
        "Customer Portal configuration. Exits 1 on a problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--webhook-url",
            default="",
            help="The endpoint Stripe should post to (default: SITE_URL + /stripe/webhook/).",
        )
        parser.add_argument(
            "--fix",
            action="store_true",
            help="Create or correct the Customer Portal configuration.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.problems = 0
        key: str = settings.STRIPE_SECRET_KEY
        where = settings.STRIPE_API_BASE if gateway.is_standin() else "Stripe"
        self.stdout.write(f"Stripe account check ({where}, key {_masked(key)})")
        if self._keys(key) and self._account():
            url = options["webhook_url"] or settings.SITE_URL + reverse("payments:stripe-webhook")
            self._webhook(url)
            self._portal(fix=options["fix"])
        if self.problems:
            raise CommandError(f"{self.problems} problem(s) with the Stripe account")
        self.stdout.write("All Stripe checks passed.")

    def _line(self, ok: bool | None, what: str, text: str) -> None:
        label = {True: "ok  ", False: "FAIL", None: "warn"}[ok]
        if ok is False:
            self.problems += 1
        style = {True: self.style.SUCCESS, False: self.style.ERROR, None: self.style.WARNING}
        self.stdout.write(f"  {style[ok](label)}  {what}: {text}")

    def _keys(self, key: str) -> bool:
        secret_ok = key.startswith(("sk_live_", "sk_test_", "rk_live_", "rk_test_"))
        self._line(
            secret_ok,
            "secret key",
            "a secret (sk_) or restricted (rk_) key"
            if secret_ok
            else "STRIPE_SECRET_KEY is not a Stripe secret key (sk_... or rk_...)",
        )
        hook: str = settings.STRIPE_WEBHOOK_SECRET
        hook_ok = hook.startswith("whsec_") and (gateway.is_standin() or "standin" not in hook)
        self._line(
            hook_ok,
            "webhook secret",
            "a signing secret (whsec_)"
            if hook_ok
            else "STRIPE_WEBHOOK_SECRET is not the endpoint's signing secret (whsec_...)",
        )
        return secret_ok

    def _account(self) -> bool:
        try:
            account = gateway.retrieve_account()
        except gateway.GatewayError as exc:
            self._line(False, "key", f"Stripe refused it: {exc}")
            return False
        mode = "live" if account.livemode else "test"
        self._line(True, "key", f"works for account {account.id} in {mode} mode")
        if not account.charges_enabled:
            self._line(False, "account", "charges are not enabled (finish the account's setup)")
        self._line(
            account.api_version == gateway.API_VERSION,
            "API version",
            f"requests pin {gateway.API_VERSION}; Stripe answered with "
            f"{account.api_version or 'no Stripe-Version header'}",
        )
        return True

    def _webhook(self, url: str) -> None:
        endpoints = gateway.list_webhook_endpoints()
        mine = [w for w in endpoints if w.url == url]
        if not mine:
            others = ", ".join(w.url for w in endpoints) or "none"
            self._line(False, "webhook endpoint", f"none posts to {url} (endpoints: {others})")
            return
        endpoint = mine[0]
        self._line(
            endpoint.status == "enabled",
            "webhook endpoint",
            f"{endpoint.id} posts to {url}, {endpoint.status}",
        )
        events = set(endpoint.enabled_events)
        missing = sorted(services.HANDLED_EVENTS - events) if "*" not in events else []
        self._line(
            not missing,
            "webhook events",
            f"missing {', '.join(missing)}"
            if missing
            else "all events the portal applies are enabled",
        )
        if endpoint.api_version != gateway.API_VERSION:
            # Events are only read for their id, type and object id (the object is re-read in
            # the pinned version), so another version is not an error.
            self._line(
                None,
                "webhook API version",
                f"events arrive in {endpoint.api_version or 'the account default version'}, "
                f"not {gateway.API_VERSION}; harmless, objects are re-read",
            )

    def _portal(self, *, fix: bool) -> None:
        if fix:
            config_id = gateway.portal_configuration_ensure()
            self._line(True, "Customer Portal", f"configuration {config_id} is set up")
            return
        config = gateway.find_portal_configuration()
        if config is None:
            self._line(
                False,
                "Customer Portal",
                "no configuration made by the portal yet (run with --fix, or open "
                "Manage billing once)",
            )
            return
        problems = gateway.portal_configuration_problems(config)
        self._line(
            not problems,
            "Customer Portal",
            f"configuration {config['id']}: "
            + ("; ".join(problems) + " (run with --fix)" if problems else "as the portal needs"),
        )
