"""The ``/v1`` REST surface: routing, list pagination, ``expand[]`` and idempotency."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from . import objects
from .engine import Engine, StripeError, p_bool, p_int, p_list, p_str, public

Obj = dict[str, Any]
IDEMPOTENCY_KEY_LIFETIME = 24 * 3600  # seconds Stripe keeps a key's result
Handler = Callable[[Obj, list[str]], Obj]


class Api:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        e = engine
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._route("POST", "customers", lambda p, a: e.customer_create(p))
        self._route(
            "GET",
            "customers",
            lambda p, a: self._list("customer", p, "/v1/customers", email=p_str(p, "email")),
        )
        self._route("GET", r"customers/(cus_\w+)", self._retrieve)
        self._route("POST", r"customers/(cus_\w+)", lambda p, a: e.customer_update(a[0], p))
        self._route("DELETE", r"customers/(cus_\w+)", lambda p, a: e.customer_delete(a[0]))
        self._route("POST", "products", lambda p, a: e.product_create(p))
        self._route(
            "GET",
            "products",
            lambda p, a: self._list(
                "product",
                p,
                "/v1/products",
                active=p_bool(p, "active"),
                id=p_list(p, "ids") or None,
            ),
        )
        self._route("GET", r"products/([\w-]+)", lambda p, a: e.get_kind(a[0], "product"))
        self._route("POST", r"products/([\w-]+)", lambda p, a: e.product_update(a[0], p))
        self._route("POST", "prices", lambda p, a: e.price_create(p))
        self._route("GET", "prices", self._list_prices)
        self._route("GET", r"prices/(price_\w+)", self._retrieve)
        self._route("POST", r"prices/(price_\w+)", lambda p, a: e.price_update(a[0], p))
        self._route("POST", "checkout/sessions", lambda p, a: e.checkout_create(p))
        self._route(
            "GET",
            "checkout/sessions",
            lambda p, a: self._list(
                "checkout.session",
                p,
                "/v1/checkout/sessions",
                customer=p_str(p, "customer"),
                subscription=p_str(p, "subscription"),
                payment_intent=p_str(p, "payment_intent"),
                status=p_str(p, "status"),
            ),
        )
        self._route("GET", r"checkout/sessions/(cs_\w+)", self._retrieve)
        self._route("GET", r"checkout/sessions/(cs_\w+)/line_items", self._session_line_items)
        self._route(
            "POST", r"checkout/sessions/(cs_\w+)/expire", lambda p, a: e.checkout_expire(a[0])
        )
        self._route("GET", "subscriptions", self._list_subscriptions)
        self._route("GET", r"subscriptions/(sub_\w+)", self._retrieve)
        self._route("POST", r"subscriptions/(sub_\w+)", lambda p, a: e.subscription_update(a[0], p))
        self._route("DELETE", r"subscriptions/(sub_\w+)", lambda p, a: e.subscription_cancel(a[0]))
        self._route("GET", r"subscription_items/(si_\w+)", self._subscription_item)
        self._route("GET", "invoices", self._list_invoices)
        self._route("GET", r"invoices/(in_\w+)", self._retrieve)
        self._route("GET", r"invoices/(in_\w+)/lines", self._invoice_lines)
        self._route("POST", r"invoices/(in_\w+)/pay", self._invoice_pay)
        self._route(
            "GET",
            "invoice_payments",
            lambda p, a: self._list(
                "invoice_payment", p, "/v1/invoice_payments", invoice=p_str(p, "invoice")
            ),
        )
        self._route("GET", r"invoice_payments/(inpay_\w+)", self._retrieve)
        self._route("GET", r"payment_intents/(pi_\w+)", self._retrieve)
        self._route(
            "GET",
            "payment_intents",
            lambda p, a: self._list(
                "payment_intent", p, "/v1/payment_intents", customer=p_str(p, "customer")
            ),
        )
        self._route("GET", r"charges/(ch_\w+)", self._retrieve)
        self._route(
            "GET",
            "charges",
            lambda p, a: self._list(
                "charge",
                p,
                "/v1/charges",
                customer=p_str(p, "customer"),
                payment_intent=p_str(p, "payment_intent"),
            ),
        )
        self._route("GET", r"payment_methods/(pm_\w+)", self._retrieve)
        self._route("POST", "refunds", lambda p, a: e.refund_create(p))
        self._route(
            "GET",
            "refunds",
            lambda p, a: self._list(
                "refund",
                p,
                "/v1/refunds",
                charge=p_str(p, "charge"),
                payment_intent=p_str(p, "payment_intent"),
            ),
        )
        self._route("GET", r"refunds/(re_\w+)", self._retrieve)
        self._route("POST", "billing_portal/sessions", lambda p, a: e.portal_create(p))
        self._route(
            "POST", "billing_portal/configurations", lambda p, a: e.portal_configuration_create(p)
        )
        self._route(
            "GET",
            "billing_portal/configurations",
            lambda p, a: self._list(
                "billing_portal.configuration",
                p,
                "/v1/billing_portal/configurations",
                active=p_bool(p, "active"),
                is_default=p_bool(p, "is_default"),
            ),
        )
        self._route("GET", r"billing_portal/configurations/(bpc_\w+)", self._retrieve)
        self._route(
            "POST",
            r"billing_portal/configurations/(bpc_\w+)",
            lambda p, a: e.portal_configuration_update(a[0], p),
        )
        self._route("GET", "account", lambda p, a: objects.account())
        self._route("GET", "webhook_endpoints", self._list_webhook_endpoints)
        self._route("GET", "events", self._list_events)
        self._route("GET", r"events/(evt_\w+)", self._retrieve)

    def _route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(rf"/v1/{pattern}/?"), handler))

    # -- entry point ---------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: Obj, idempotency_key: str | None, request_id: str
    ) -> tuple[int, Obj, bool]:
        """Answer one request: (status, JSON body, whether it replays an idempotent result)."""
        found = [
            (route_method, match, handler)
            for route_method, pattern, handler in self.routes
            if (match := pattern.fullmatch(path))
        ]
        chosen = next((f for f in found if f[0] == method), None)
        if chosen is None:
            if found:
                return (
                    405,
                    StripeError(f"Unrecognized request URL ({method}: {path}).", status=405).body(),
                    False,
                )
            return (
                404,
                StripeError(
                    f"Unrecognized request URL ({method}: {path}). The Stripe stand-in does not "
                    "implement this endpoint.",
                    status=404,
                ).body(),
                False,
            )
        _, match, handler = chosen
        args = list(match.groups())
        if method != "POST" or not idempotency_key:
            return *self._run(handler, params, args, request_id, None), False
        # Held across check, run and save so concurrent retries with one key run once.
        with self.store.lock:
            fingerprint = json.dumps(params, sort_keys=True)
            saved = self.store.idempotent_result(
                idempotency_key, not_before=objects.now() - IDEMPOTENCY_KEY_LIFETIME
            )
            if saved:
                saved_method, saved_path, saved_params, status, body = saved
                if (saved_method, saved_path, saved_params) != (method, path, fingerprint):
                    return (
                        400,
                        StripeError(
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{idempotency_key}' if you meant to execute a different request.",
                            type_="idempotency_error",
                        ).body(),
                        False,
                    )
                return status, json.loads(body), True
            status, body = self._run(handler, params, args, request_id, idempotency_key)
            # Like Stripe, the first result is the answer for 24 hours, errors included: a
            # request that failed once fails the same way again under its key.
            self.store.save_idempotent_result(
                idempotency_key,
                method,
                path,
                fingerprint,
                status,
                json.dumps(body),
                objects.now(),
            )
        return status, body, False

    def _run(
        self, handler: Handler, params: Obj, args: list[str], request_id: str, key: str | None
    ) -> tuple[int, Obj]:
        expand = [str(x) for x in p_list(params, "expand")]
        engine_params = {k: v for k, v in params.items() if k != "expand"}
        try:
            with self.engine.api_request(request_id, key):
                return 200, self.render(handler(engine_params, args), expand)
        except StripeError as exc:
            return exc.status, exc.body()

    # -- rendering -----------------------------------------------------------------------------

    def render(self, obj: Obj, expand: list[str]) -> Obj:
        out = public(obj)
        for path in expand:
            out = self._expand(out, path.split("."), path)
        return out

    def _expand(self, value: Any, parts: list[str], path: str) -> Any:
        if not parts or value is None:
            return value
        head, rest = parts[0], parts[1:]
        if isinstance(value, list):
            return [self._expand(v, parts, path) for v in value]
        if not isinstance(value, dict):
            raise StripeError(f"This property cannot be expanded ({path}).", param="expand")
        if value.get("object") == "list" and head == "data":
            value["data"] = [self._expand(v, rest, path) for v in value["data"]]
            return value
        stored = self.store.get(value["id"]) if isinstance(value.get("id"), str) else None
        included = self.engine.includable(stored or value, head)
        if included is not None:
            value[head] = self._expand(self.render(included, []), rest, path)
            return value
        if head not in value:
            raise StripeError(f"This property cannot be expanded ({path}).", param="expand")
        child = value[head]
        if isinstance(child, str):
            # Any id we hold can be expanded, including custom product ids without a prefix.
            loaded = self.store.get(child)
            if loaded is None:
                raise StripeError(f"This property cannot be expanded ({path}).", param="expand")
            child = public(loaded)
        value[head] = self._expand(child, rest, path)
        return value

    # -- generic handlers ----------------------------------------------------------------------

    def _retrieve(self, params: Obj, args: list[str]) -> Obj:
        stored = self.store.get(args[0])
        if stored is not None and stored.get("deleted"):
            # Stripe still answers for a deleted customer, with a stub that says so.
            return {"id": stored["id"], "object": stored["object"], "deleted": True}
        return self.engine.get(args[0])

    def _list(self, kind: str, params: Obj, url: str, **filters: Any) -> Obj:
        items = self.store.all(kind)
        for field, wanted in filters.items():
            if wanted is None:
                continue
            if isinstance(wanted, list):
                items = [o for o in items if o.get(field) in wanted]
            else:
                items = [o for o in items if o.get(field) == wanted]
        return self._page(items, params, url)

    def _page(self, items: list[Obj], params: Obj, url: str) -> Obj:
        limit = p_int(params, "limit", default=10)
        if not 1 <= limit <= 100:
            raise StripeError("Invalid integer: limit must be between 1 and 100.", param="limit")
        after = p_str(params, "starting_after")
        before = p_str(params, "ending_before")
        ids = [o["id"] for o in items]
        if after:
            if after not in ids:
                raise StripeError(
                    f"No such object: '{after}'", code="resource_missing", param="starting_after"
                )
            items = items[ids.index(after) + 1 :]
            page = items[:limit]
            has_more = len(items) > limit
        elif before:
            if before not in ids:
                raise StripeError(
                    f"No such object: '{before}'", code="resource_missing", param="ending_before"
                )
            items = items[: ids.index(before)]
            page = items[-limit:]
            has_more = len(items) > limit
        else:
            page = items[:limit]
            has_more = len(items) > limit
        return objects.list_object([public(o) for o in page], url, has_more)

    # -- specific handlers ---------------------------------------------------------------------

    def _list_prices(self, params: Obj, args: list[str]) -> Obj:
        items = self.store.all("price")
        active = p_bool(params, "active")
        if active is not None:
            items = [p for p in items if p["active"] == active]
        if p_str(params, "product"):
            items = [p for p in items if p["product"] == params["product"]]
        if p_str(params, "currency"):
            items = [p for p in items if p["currency"] == params["currency"].lower()]
        if p_str(params, "type"):
            items = [p for p in items if p["type"] == params["type"]]
        lookup_keys = p_list(params, "lookup_keys")
        if lookup_keys:
            items = [p for p in items if p["lookup_key"] in lookup_keys]
        interval = (params.get("recurring") or {}).get("interval")
        if interval:
            items = [p for p in items if (p["recurring"] or {}).get("interval") == interval]
        return self._page(items, params, "/v1/prices")

    def _list_subscriptions(self, params: Obj, args: list[str]) -> Obj:
        items = self.store.all("subscription")
        status = p_str(params, "status")
        if status is None:
            items = [s for s in items if s["status"] != "canceled"]
        elif status != "all":
            items = [s for s in items if s["status"] == status]
        if p_str(params, "customer"):
            items = [s for s in items if s["customer"] == params["customer"]]
        price = p_str(params, "price")
        if price:
            items = [s for s in items if any(i["price"]["id"] == price for i in s["items"]["data"])]
        return self._page(items, params, "/v1/subscriptions")

    def _list_invoices(self, params: Obj, args: list[str]) -> Obj:
        items = self.store.all("invoice")
        if p_str(params, "customer"):
            items = [i for i in items if i["customer"] == params["customer"]]
        sub_id = p_str(params, "subscription")
        if sub_id:
            items = [
                i
                for i in items
                if ((i["parent"] or {}).get("subscription_details") or {}).get("subscription")
                == sub_id
            ]
        if p_str(params, "status"):
            items = [i for i in items if i["status"] == params["status"]]
        return self._page(items, params, "/v1/invoices")

    def _list_webhook_endpoints(self, params: Obj, args: list[str]) -> Obj:
        """The one endpoint the stand-in delivers to (its --webhook-url), with every event."""
        url = self.engine.webhook_url()
        items = [objects.webhook_endpoint(endpoint_id="we_standin", url=url, events=["*"])]
        return self._page(items if url else [], params, "/v1/webhook_endpoints")

    def _list_events(self, params: Obj, args: list[str]) -> Obj:
        items = self.store.all("event")
        wanted = p_str(params, "type")
        types = p_list(params, "types")
        if wanted:
            # Stripe allows one trailing ``*`` wildcard, as in ``customer.subscription.*``.
            if wanted.endswith("*"):
                items = [e for e in items if e["type"].startswith(wanted[:-1])]
            else:
                items = [e for e in items if e["type"] == wanted]
        if types:
            items = [e for e in items if e["type"] in types]
        return self._page(items, params, "/v1/events")

    def _session_line_items(self, params: Obj, args: list[str]) -> Obj:
        session = self.engine.get_kind(args[0], "checkout.session")
        url = f"/v1/checkout/sessions/{args[0]}/line_items"
        return self._page(session.get("_line_items", []), params, url)

    def _invoice_lines(self, params: Obj, args: list[str]) -> Obj:
        inv = self.engine.get_kind(args[0], "invoice")
        return self._page(inv["lines"]["data"], params, f"/v1/invoices/{args[0]}/lines")

    def _subscription_item(self, params: Obj, args: list[str]) -> Obj:
        for sub in self.store.all("subscription"):
            for item in sub["items"]["data"]:
                if item["id"] == args[0]:
                    return item
        raise StripeError(
            f"No such subscription_item: '{args[0]}'",
            status=404,
            code="resource_missing",
            param="id",
        )

    def _invoice_pay(self, params: Obj, args: list[str]) -> Obj:
        inv, paid = self.engine.invoice_pay(args[0], params)
        if not paid:
            # The failed attempt and its events are real (committed); only the reply is an error.
            pi_id = None
            payments = self.engine.includable(inv, "payments") or {"data": []}
            if payments["data"]:
                pi_id = payments["data"][0]["payment"]["payment_intent"]
            pi = self.store.get(pi_id) if pi_id else None
            error = (pi or {}).get("last_payment_error") or {}
            raise StripeError(
                error.get("message", "Your card was declined."),
                status=402,
                type_="card_error",
                code=error.get("code", "card_declined"),
                decline_code=error.get("decline_code"),
            )
        return inv
