"""What the stand-in's Stripe account does: the state changes behind every endpoint and page.

Every state change runs inside ``Engine.action()``: one SQLite transaction under the store's
lock, collecting the events it emits. Only once the transaction commits are the events handed
to the webhook sender, so a declined card or a rejected request leaves no trace and no event.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import objects
from .cards import Card, Decline, attach_decline, charge_decline, read_card
from .store import Store

Obj = dict[str, Any]

# Prefix of an id -> the object name Stripe uses in "No such ..." messages.
_KIND_BY_PREFIX = {
    "cus": "customer",
    "prod": "product",
    "price": "price",
    "cs": "checkout.session",
    "sub": "subscription",
    "si": "subscription_item",
    "in": "invoice",
    "inpay": "invoice_payment",
    "il": "line_item",
    "pi": "payment_intent",
    "ch": "charge",
    "re": "refund",
    "pm": "payment_method",
    "bps": "billing_portal.session",
    "bpc": "billing_portal.configuration",
    "we": "webhook_endpoint",
    "evt": "event",
}


# A renewal invoice is a draft for about an hour, then finalized and charged, as at Stripe.
RENEWAL_DRAFT_SECONDS = 3600
# Days from each failed renewal charge to the next try (a custom retry schedule of three).
RETRY_DAYS = (3, 5, 7)


class StripeError(Exception):
    """An error Stripe would answer with; ``status`` picks the stripe-python exception class."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: Obj | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def body(self) -> Obj:
        error: Obj = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return {"error": error}


def no_such(object_id: str, *, param: str = "id", status: int = 404) -> StripeError:
    kind = kind_of(object_id) or "object"
    return StripeError(
        f"No such {kind}: '{object_id}'", status=status, code="resource_missing", param=param
    )


def card_error(decline: Decline, **extra: Any) -> StripeError:
    return StripeError(
        decline.message,
        status=402,
        type_="card_error",
        code=decline.code,
        param=decline.param,
        decline_code=decline.decline_code,
        extra=extra,
    )


def kind_of(object_id: str) -> str | None:
    if object_id.startswith("cs_"):
        return "checkout.session"
    return _KIND_BY_PREFIX.get(object_id.split("_", 1)[0])


def public(obj: Obj) -> Obj:
    """A copy without the stand-in's private bookkeeping (keys starting with ``_``)."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


# -- reading params ----------------------------------------------------------------------------


def p_str(params: Obj, name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise StripeError(
                f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        return None
    if not isinstance(value, str):
        raise StripeError(f"Invalid string: {name}", code="parameter_invalid_string", param=name)
    return value


def p_int(params: Obj, name: str, *, required: bool = False, default: int | None = None) -> Any:
    value = p_str(params, name, required=required)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise StripeError(
            f"Invalid integer: {value}", code="parameter_invalid_integer", param=name
        ) from None


def p_bool(params: Obj, name: str, default: bool | None = None) -> Any:
    value = p_str(params, name)
    if value is None:
        return default
    if value not in {"true", "false"}:
        raise StripeError(f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name)
    return value == "true"


def p_dict(params: Obj, name: str) -> Obj:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeError(f"Invalid object: {name}", code="parameter_invalid_object", param=name)
    return value


def p_list(params: Obj, name: str) -> list[Any]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        raise StripeError(f"Invalid array: {name}", code="parameter_invalid_array", param=name)
    return value if isinstance(value, list) else [value]


def metadata_update(current: Obj, params: Obj, name: str = "metadata") -> Obj:
    """Stripe merges metadata keys; an empty value deletes a key, ``metadata=""`` clears all."""
    if params.get(name) == "":
        return {}
    merged = dict(current)
    for key, value in p_dict(params, name).items():
        if not isinstance(value, str):
            raise StripeError(f"Invalid metadata value for {key}", param=f"{name}[{key}]")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _money(amount: int, currency: str) -> str:
    zero_decimal = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}
    if currency in zero_decimal:
        return f"{amount} {currency.upper()}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$"}.get(currency)
    text = f"{amount / 100:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


money = _money


class Engine:
    """The stand-in Stripe account. ``deliver`` receives each committed batch of events."""

    def __init__(self, store: Store, *, public_url: str, deliver: Callable[[list[Obj]], None]):
        self.store = store
        self.public_url = public_url
        self._deliver = deliver
        self._batch: list[Obj] | None = None
        self._request: tuple[str | None, str | None] = (None, None)
        # Where webhooks go (the server's sender sets it); listed as the one webhook endpoint.
        self.webhook_url: Callable[[], str | None] = lambda: None

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def action(self) -> Iterator[None]:
        """One atomic state change; its events go out only if it completes."""
        with self.store.lock:
            if self._batch is not None:
                # Nested actions join the outer one and ship with its events.
                yield
                return
            self._batch = []
            try:
                with self.store.transaction():
                    yield
                batch = self._batch
            finally:
                self._batch = None
            if batch:
                self._deliver(batch)

    @contextmanager
    def api_request(self, request_id: str, idempotency_key: str | None) -> Iterator[None]:
        """Stamp events emitted while answering an API request with its id and key."""
        with self.store.lock:
            self._request = (request_id, idempotency_key)
            try:
                yield
            finally:
                self._request = (None, None)

    def emit(self, type_: str, obj: Obj, previous: Obj | None = None) -> Obj:
        if self._batch is None:
            raise RuntimeError("events can only be emitted inside Engine.action()")
        request_id, key = self._request
        event = objects.event(
            type_=type_,
            obj=public(obj),
            previous=previous,
            request_id=request_id,
            idempotency_key=key,
        )
        event["_deliveries"] = []
        self.store.put(event)
        self._batch.append(event)
        return event

    def get(self, object_id: str | None, *, param: str = "id", status: int = 404) -> Obj:
        obj = self.store.get(object_id) if object_id else None
        if obj is None or obj.get("deleted"):
            raise no_such(object_id or "", param=param, status=status)
        return obj

    def get_kind(self, object_id: str, kind: str, *, param: str = "id", status: int = 404) -> Obj:
        obj = self.store.get(object_id) if object_id else None
        if obj is None or obj.get("deleted") or obj["object"] != kind:
            raise StripeError(
                f"No such {kind}: '{object_id}'",
                status=status,
                code="resource_missing",
                param=param,
            )
        return obj

    def url(self, path: str) -> str:
        return self.public_url.rstrip("/") + path

    def _put(self, obj: Obj) -> Obj:
        return self.store.put(obj)

    # -- customers -----------------------------------------------------------------------------

    def customer_create(self, params: Obj) -> Obj:
        with self.action():
            cus = objects.customer(
                email=p_str(params, "email"),
                name=p_str(params, "name"),
                metadata=metadata_update({}, params),
                description=p_str(params, "description"),
                phone=p_str(params, "phone"),
                preferred_locales=p_list(params, "preferred_locales"),
            )
            self._put(cus)
            self.emit("customer.created", cus)
        return cus

    def customer_update(self, cus_id: str, params: Obj) -> Obj:
        with self.action():
            cus = self.get_kind(cus_id, "customer")
            before = copy.deepcopy(cus)
            for field in ("email", "name", "description", "phone"):
                if field in params:
                    cus[field] = p_str(params, field)
            cus["metadata"] = metadata_update(cus["metadata"], params)
            settings = p_dict(params, "invoice_settings")
            if "default_payment_method" in settings:
                pm_id = settings["default_payment_method"] or None
                if pm_id:
                    self.get_kind(
                        pm_id, "payment_method", param="default_payment_method", status=400
                    )
                cus["invoice_settings"]["default_payment_method"] = pm_id
            self._updated("customer.updated", cus, before)
        return cus

    def customer_delete(self, cus_id: str) -> Obj:
        with self.action():
            cus = self.get_kind(cus_id, "customer")
            for sub in self.store.all("subscription"):
                if sub["customer"] == cus_id and sub["status"] != "canceled":
                    self._subscription_end(sub, reason="cancellation_requested")
            cus["deleted"] = True
            self._put(cus)
            self.emit("customer.deleted", cus)
        return {"id": cus_id, "object": "customer", "deleted": True}

    def _updated(self, type_: str, obj: Obj, before: Obj) -> None:
        """Save and emit an ``*.updated`` event carrying the changed fields' old values."""
        previous = {k: v for k, v in before.items() if obj.get(k) != v and not k.startswith("_")}
        self._put(obj)
        if previous:
            self.emit(type_, obj, previous)

    # -- products and prices -------------------------------------------------------------------

    def product_create(self, params: Obj) -> Obj:
        with self.action():
            product_id = p_str(params, "id")
            if product_id and self.store.get(product_id):
                raise StripeError(
                    f"Product already exists: '{product_id}'",
                    code="resource_already_exists",
                    param="id",
                )
            prod = objects.product(
                name=p_str(params, "name", required=True) or "",
                metadata=metadata_update({}, params),
                product_id=product_id,
                active=p_bool(params, "active", True),
                description=p_str(params, "description"),
                statement_descriptor=p_str(params, "statement_descriptor"),
                unit_label=p_str(params, "unit_label"),
                images=p_list(params, "images"),
            )
            self._put(prod)
            self.emit("product.created", prod)
            default_price = p_dict(params, "default_price_data")
            if default_price:
                p = self._price_from_data(default_price, prod["id"], "default_price_data")
                p["active"] = True
                self._put(p)
                self.emit("price.created", p)
                prod["default_price"] = p["id"]
                self._put(prod)
        return prod

    def product_update(self, prod_id: str, params: Obj) -> Obj:
        with self.action():
            prod = self.get_kind(prod_id, "product")
            before = copy.deepcopy(prod)
            for field in ("name", "description", "statement_descriptor", "unit_label"):
                if field in params:
                    prod[field] = p_str(params, field, required=field == "name")
            if "active" in params:
                prod["active"] = p_bool(params, "active")
            if "default_price" in params:
                price_id = p_str(params, "default_price")
                if price_id:
                    self.get_kind(price_id, "price", param="default_price", status=400)
                prod["default_price"] = price_id
            prod["metadata"] = metadata_update(prod["metadata"], params)
            if prod != before:
                prod["updated"] = objects.now()
            self._updated("product.updated", prod, before)
        return prod

    def _price_from_data(self, data: Obj, product_id: str | None, param: str) -> Obj:
        def name(field: str) -> str:
            return f"{param}[{field}]" if param else field

        currency = (p_str(data, "currency", required=True) or "").lower()
        unit_amount = p_int(data, "unit_amount")
        if unit_amount is None:
            decimal = p_str(data, "unit_amount_decimal")
            if decimal is None:
                raise StripeError(
                    f"Missing required param: {name('unit_amount')}.",
                    code="parameter_missing",
                    param=name("unit_amount"),
                )
            unit_amount = int(float(decimal))
        if unit_amount < 0:
            raise StripeError("Invalid non-negative integer", param=name("unit_amount"))
        recurring = None
        rec = p_dict(data, "recurring")
        if rec:
            interval = p_str(rec, "interval", required=True)
            if interval not in {"day", "week", "month", "year"}:
                raise StripeError(
                    "Invalid recurring[interval]: must be one of day, month, week, or year",
                    param=name("recurring") + "[interval]",
                )
            recurring = {
                "interval": interval,
                "interval_count": p_int(rec, "interval_count", default=1),
            }
        product_data = p_dict(data, "product_data")
        if product_id is None:
            product_id = p_str(data, "product")
        if product_id:
            self.get_kind(product_id, "product", param=name("product"), status=400)
        elif product_data:
            prod = objects.product(
                name=p_str(product_data, "name", required=True) or "",
                metadata=metadata_update({}, product_data),
                description=p_str(product_data, "description"),
            )
            self._put(prod)
            self.emit("product.created", prod)
            product_id = prod["id"]
        else:
            raise StripeError(
                f"Missing required param: {name('product')}.",
                code="parameter_missing",
                param=name("product"),
            )
        return objects.price(
            product_id=product_id,
            currency=currency,
            unit_amount=unit_amount,
            recurring=recurring,
            lookup_key=None,
            metadata=metadata_update({}, data),
            nickname=p_str(data, "nickname"),
            active=False,
        )

    def _claim_lookup_key(self, price: Obj, key: str | None, transfer: bool) -> None:
        if not key:
            return
        for other in self.store.all("price"):
            if other["id"] != price["id"] and other["lookup_key"] == key:
                if not transfer:
                    raise StripeError(
                        f"A price (`{other['id']}`) already uses that lookup key.",
                        param="lookup_key",
                    )
                before = copy.deepcopy(other)
                other["lookup_key"] = None
                self._updated("price.updated", other, before)
        price["lookup_key"] = key

    def price_create(self, params: Obj) -> Obj:
        with self.action():
            p = self._price_from_data(params, None, "")
            p["active"] = p_bool(params, "active", True)
            self._claim_lookup_key(
                p, p_str(params, "lookup_key"), p_bool(params, "transfer_lookup_key", False)
            )
            self._put(p)
            self.emit("price.created", p)
        return p

    def price_update(self, price_id: str, params: Obj) -> Obj:
        with self.action():
            p = self.get_kind(price_id, "price")
            before = copy.deepcopy(p)
            if "active" in params:
                p["active"] = p_bool(params, "active")
            if "nickname" in params:
                p["nickname"] = p_str(params, "nickname")
            if "lookup_key" in params:
                key = p_str(params, "lookup_key")
                if key:
                    self._claim_lookup_key(p, key, p_bool(params, "transfer_lookup_key", False))
                else:
                    p["lookup_key"] = None
            p["metadata"] = metadata_update(p["metadata"], params)
            self._updated("price.updated", p, before)
        return p

    # -- checkout ------------------------------------------------------------------------------

    def _checkout_line(self, item: Obj, index: int) -> tuple[Obj, int]:
        param = f"line_items[{index}]"
        quantity = p_int(item, "quantity", default=1)
        if quantity < 1:
            raise StripeError("Quantity must be at least 1.", param=f"{param}[quantity]")
        price_id = p_str(item, "price")
        price_data = p_dict(item, "price_data")
        if price_id and price_data:
            raise StripeError(
                "You may only specify one of these parameters: price, price_data.", param=param
            )
        if price_id:
            p = self.get_kind(price_id, "price", param=f"{param}[price]", status=400)
            if not p["active"]:
                raise StripeError(
                    "The price specified is inactive. This field only accepts active prices.",
                    param=f"{param}[price]",
                )
        elif price_data:
            p = self._price_from_data(price_data, None, f"{param}[price_data]")
            self._put(p)
        else:
            raise StripeError(
                f"Missing required param: {param}[price].",
                code="parameter_missing",
                param=f"{param}[price]",
            )
        return p, quantity

    def checkout_create(self, params: Obj) -> Obj:
        with self.action():
            mode = p_str(params, "mode", required=True)
            if mode not in {"payment", "subscription"}:
                raise StripeError(
                    f"The stand-in supports `payment` and `subscription` mode, not `{mode}`.",
                    param="mode",
                )
            ui_mode = p_str(params, "ui_mode") or "hosted_page"
            if ui_mode not in {"hosted_page", "embedded_page", "elements", "form"}:
                raise StripeError(
                    "Invalid ui_mode: must be one of elements, embedded_page, form, or hosted_page",
                    param="ui_mode",
                )
            if ui_mode != "hosted_page":
                raise StripeError(
                    f"The stand-in serves Checkout as a hosted page only, not `{ui_mode}`.",
                    param="ui_mode",
                )
            if params.get("customer") and params.get("customer_email"):
                raise StripeError(
                    "You may only specify one of these parameters: customer, customer_email.",
                    param="customer",
                )
            if params.get("customer"):
                self.get_kind(params["customer"], "customer", param="customer", status=400)
            raw_items = p_list(params, "line_items")
            if not raw_items:
                raise StripeError(
                    "Missing required param: line_items.",
                    code="parameter_missing",
                    param="line_items",
                )
            lines = [self._checkout_line(item, i) for i, item in enumerate(raw_items)]
            currencies = {p["currency"] for p, _ in lines}
            if len(currencies) > 1:
                raise StripeError(
                    "All prices on a Checkout Session must use the same currency.",
                    param="line_items",
                )
            recurring = [p for p, _ in lines if p["recurring"]]
            if mode == "subscription" and not recurring:
                raise StripeError(
                    "You must provide at least one recurring price in `subscription` mode when "
                    "using prices.",
                    param="line_items",
                )
            if mode == "payment" and recurring:
                raise StripeError(
                    "You specified `payment` mode but passed a recurring price. Either switch to "
                    "`subscription` mode or use only one-time prices.",
                    param="line_items",
                )
            if (
                mode == "subscription"
                and len(
                    {
                        (p["recurring"]["interval"], p["recurring"]["interval_count"])
                        for p in recurring
                    }
                )
                > 1
            ):
                raise StripeError(
                    "Checkout does not support multiple prices with different billing intervals.",
                    param="line_items",
                )
            items = []
            for p, quantity in lines:
                prod = self.store.get(p["product"]) or {}
                items.append(objects.checkout_line_item(p, quantity, prod.get("name", "")))
            total = sum(item["amount_total"] for item in items)
            for field in ("success_url", "cancel_url"):
                url = p_str(params, field)
                if url and not url.startswith(("http://", "https://")):
                    raise StripeError(f"Not a valid URL: {field}", param=field, code="url_invalid")
            session = objects.checkout_session(
                mode=mode,
                currency=currencies.pop(),
                amount=total,
                url_template=self.url("/checkout/{id}"),
                params={**params, "metadata": metadata_update({}, params)},
            )
            if mode == "subscription":
                sub_data = p_dict(params, "subscription_data")
                session["_subscription_data"] = {
                    "metadata": metadata_update({}, sub_data),
                    "description": p_str(sub_data, "description"),
                }
            else:
                pi_data = p_dict(params, "payment_intent_data")
                session["_payment_intent_data"] = {
                    "metadata": metadata_update({}, pi_data),
                    "description": p_str(pi_data, "description"),
                    "receipt_email": p_str(pi_data, "receipt_email"),
                }
            session["_line_items"] = items
            self._put(session)
        return session

    def checkout_expire(self, cs_id: str) -> Obj:
        with self.action():
            session = self.get_kind(cs_id, "checkout.session")
            if session["status"] != "open":
                raise StripeError(
                    f"Only Checkout Sessions with a status of `open` can be expired. This "
                    f"Checkout Session has a status of `{session['status']}`."
                )
            session["status"] = "expired"
            session["url"] = None
            self._put(session)
            self.emit("checkout.session.expired", session)
        return session

    def checkout_pay(
        self,
        cs_id: str,
        *,
        card: str,
        exp: str = "",
        cvc: str = "",
        email: str | None = None,
        name: str | None = None,
    ) -> Obj:
        """Pay a Checkout Session as the hosted page would; raises a 402 StripeError on decline.

        Nothing is created when the card is declined: the page simply shows the error.
        """
        with self.action():
            session = self.get_kind(cs_id, "checkout.session")
            if session["status"] != "open":
                raise StripeError(
                    f"This Checkout Session is {session['status']} and can no longer be paid."
                )
            read = read_card(card, exp, cvc)
            if isinstance(read, Decline):
                raise card_error(read)
            decline = charge_decline(read.number)
            if decline:
                raise card_error(decline)
            cus = self.store.get(session["customer"]) if session["customer"] else None
            email = email or session["customer_email"] or (cus and cus["email"])
            wants_customer = session["mode"] == "subscription" or (
                session["customer_creation"] == "always"
            )
            if cus is None and wants_customer:
                cus = objects.customer(email=email, name=name, metadata={})
                self._put(cus)
                self.emit("customer.created", cus)
            pm = self._payment_method(read, email=email, name=name, customer=cus)
            session["customer"] = cus["id"] if cus else None
            session["customer_details"] = {
                "address": None,
                "business_name": None,
                "email": email,
                "individual_name": None,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
            if cus is not None and session["mode"] == "subscription":
                sub, inv = self._subscription_start(session, cus, pm)
                session["subscription"] = sub["id"]
                session["invoice"] = inv["id"]
            else:
                pi_data = session["_payment_intent_data"]
                pi = objects.payment_intent(
                    amount=session["amount_total"],
                    currency=session["currency"],
                    customer_id=cus["id"] if cus else None,
                    payment_method_id=pm["id"],
                    metadata=dict(pi_data["metadata"]),
                    description=pi_data["description"],
                )
                pi["receipt_email"] = pi_data["receipt_email"]
                self._put(pi)
                self.emit("payment_intent.created", pi)
                self._charge(pi, pm)
                session["payment_intent"] = pi["id"]
            session["payment_status"] = "paid"
            session["status"] = "complete"
            session["url"] = None
            self._put(session)
            self.emit("checkout.session.completed", session)
        return session

    def success_redirect(self, session: Obj) -> str | None:
        url = session.get("success_url")
        return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None

    # -- payments ------------------------------------------------------------------------------

    def _payment_method(
        self, card: Card, *, email: str | None, name: str | None, customer: Obj | None
    ) -> Obj:
        pm = objects.payment_method(card.details(), objects.billing_details(email, name))
        pm["_number"] = card.number
        self._put(pm)
        if customer is not None:
            pm["customer"] = customer["id"]
            self._put(pm)
            self.emit("payment_method.attached", pm)
        return pm

    def _charge(self, pi: Obj, pm: Obj, *, force_fail: bool = False) -> Obj:
        """Charge a payment method for a PaymentIntent, success or failure, with its events."""
        decline = charge_decline(pm.get("_number", ""))
        if force_fail and decline is None:
            decline = Decline("card_declined", "generic_decline", "Your card was declined.")
        ch = objects.charge(
            pi=pi,
            pm=pm,
            succeeded=decline is None,
            failure_code=decline and decline.code,
            failure_message=decline and decline.message,
            receipt_url="",
        )
        ch["receipt_url"] = self.url(f"/receipt/{ch['id']}")
        self._put(ch)
        pi["latest_charge"] = ch["id"]
        pi["payment_method"] = pm["id"]
        if decline is None:
            pi["status"] = "succeeded"
            pi["amount_received"] = pi["amount"]
            pi["last_payment_error"] = None
            self._put(pi)
            self.emit("charge.succeeded", ch)
            self.emit("payment_intent.succeeded", pi)
        else:
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = {
                "advice_code": None,
                "charge": ch["id"],
                "code": decline.code,
                "decline_code": decline.decline_code,
                "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
                "message": decline.message,
                "network_advice_code": None,
                "network_decline_code": None,
                "param": None,
                "payment_method": public(pm),
                "type": "card_error",
            }
            self._put(pi)
            self.emit("charge.failed", ch)
            self.emit("payment_intent.payment_failed", pi)
        return ch

    def refund_create(self, params: Obj) -> Obj:
        with self.action():
            ch_id = p_str(params, "charge")
            pi_id = p_str(params, "payment_intent")
            if ch_id and pi_id:
                raise StripeError(
                    "You may only specify one of these parameters: charge, payment_intent.",
                    param="charge",
                )
            if pi_id:
                pi = self.get_kind(pi_id, "payment_intent", param="payment_intent", status=400)
                if pi["status"] != "succeeded" or not pi["latest_charge"]:
                    raise StripeError(
                        f"This PaymentIntent ({pi_id}) does not have a successful charge to "
                        "refund.",
                        param="payment_intent",
                    )
                ch_id = pi["latest_charge"]
            if not ch_id:
                raise StripeError(
                    "One of the following params should be provided for this request: "
                    "payment_intent or charge.",
                    code="parameter_missing",
                )
            ch = self.get_kind(ch_id, "charge", param="charge", status=400)
            remaining = ch["amount_captured"] - ch["amount_refunded"]
            if ch["refunded"] or remaining <= 0:
                raise StripeError(
                    f"Charge {ch_id} has already been refunded.", code="charge_already_refunded"
                )
            amount = p_int(params, "amount", default=remaining)
            if amount <= 0:
                raise StripeError("Invalid positive integer", param="amount")
            if amount > remaining:
                raise StripeError(
                    f"Refund amount ({money(amount, ch['currency'])}) is greater than unrefunded "
                    f"amount on charge ({money(remaining, ch['currency'])})",
                    param="amount",
                )
            reason = p_str(params, "reason")
            if reason not in {None, "duplicate", "fraudulent", "requested_by_customer"}:
                raise StripeError(f"Invalid reason: {reason}", param="reason")
            re_ = objects.refund(
                ch=ch, amount=amount, reason=reason, metadata=metadata_update({}, params)
            )
            self._put(re_)
            before = copy.deepcopy(ch)
            ch["amount_refunded"] += amount
            ch["refunded"] = ch["amount_refunded"] >= ch["amount_captured"]
            self._put(ch)
            self.emit("refund.created", re_)
            self.emit(
                "charge.refunded",
                ch,
                {k: v for k, v in before.items() if ch.get(k) != v},
            )
        return re_

    # -- subscriptions and invoices --------------------------------------------------------------

    def _subscription_start(self, session: Obj, cus: Obj, pm: Obj) -> tuple[Obj, Obj]:
        data = session["_subscription_data"]
        sub = objects.subscription(
            customer_id=cus["id"],
            currency=session["currency"],
            metadata=dict(data["metadata"]),
            payment_method_id=pm["id"],
            description=data["description"],
        )
        start = sub["created"]
        for line in session["_line_items"]:
            p = line["price"]
            end = objects.add_interval(
                start, p["recurring"]["interval"], p["recurring"]["interval_count"]
            )
            sub["items"]["data"].append(
                objects.subscription_item(
                    sub_id=sub["id"],
                    p=p,
                    quantity=line["quantity"],
                    period_start=start,
                    period_end=end,
                )
            )
        sub["items"]["total_count"] = len(sub["items"]["data"])
        self._put(sub)
        self.emit("customer.subscription.created", sub)
        inv = self._subscription_invoice(sub, "subscription_create", start, start)
        sub["latest_invoice"] = inv["id"]
        before = copy.deepcopy(sub)
        paid = self._invoice_collect(inv, pm)
        if not paid:
            # checkout_pay screens declining cards first; this only guards that promise.
            raise card_error(Decline("card_declined", "generic_decline", "Your card was declined."))
        sub["status"] = "active"
        self._put(sub)
        self.emit("customer.subscription.updated", sub, {"status": before["status"]})
        return sub, inv

    def _subscription_invoice(
        self, sub: Obj, reason: str, period_start: int, period_end: int, *, draft: bool = False
    ) -> Obj:
        """The subscription's invoice for a period. A first invoice is finalized at once; a
        renewal (`draft`) stays a draft until _invoice_finalize, about an hour later."""
        cus = self.get(sub["customer"])
        inv = objects.invoice(
            cus=cus,
            currency=sub["currency"],
            billing_reason=reason,
            sub=sub,
            number="",
            hosted_url=self.url("/invoice/{id}"),
            pdf_url=self.url("/invoice/{id}/pdf"),
            period_start=period_start,
            period_end=period_end,
        )
        inv["number"] = None  # given at finalization, as Stripe numbers invoices
        for item in sub["items"]["data"]:
            p = item["price"]
            prod = self.store.get(p["product"]) or {}
            unit = money(p["unit_amount"], p["currency"])
            description = (
                f"{item['quantity']} \u00d7 {prod.get('name', p['product'])} (at {unit} / "
            )
            description += f"{p['recurring']['interval']})"
            inv["lines"]["data"].append(
                objects.invoice_line(
                    in_id=inv["id"],
                    p=p,
                    quantity=item["quantity"],
                    description=description,
                    period_start=item["current_period_start"],
                    period_end=item["current_period_end"],
                    sub_id=sub["id"],
                    si_id=item["id"],
                )
            )
        total = sum(line["amount"] for line in inv["lines"]["data"])
        inv["lines"]["total_count"] = len(inv["lines"]["data"])
        for field in (
            "amount_due",
            "amount_remaining",
            "subtotal",
            "subtotal_excluding_tax",
            "total",
            "total_excluding_tax",
        ):
            inv[field] = total
        if draft:
            inv.update(
                status="draft",
                auto_advance=True,
                hosted_invoice_url=None,
                invoice_pdf=None,
                automatically_finalizes_at=objects.now() + RENEWAL_DRAFT_SECONDS,
            )
            inv["status_transitions"]["finalized_at"] = None
        self._put(inv)
        self.emit("invoice.created", inv)
        if not draft:
            self._invoice_finalize(inv, cus)
        return inv

    def _invoice_finalize(self, inv: Obj, cus: Obj | None = None) -> None:
        cus = cus or self.get(inv["customer"])
        inv["number"] = f"{cus['invoice_prefix']}-{cus['next_invoice_sequence']:04d}"
        cus["next_invoice_sequence"] += 1
        self._put(cus)
        inv.update(
            status="open",
            automatically_finalizes_at=None,
            hosted_invoice_url=self.url("/invoice/{id}").format(id=inv["id"]),
            invoice_pdf=self.url("/invoice/{id}/pdf").format(id=inv["id"]),
        )
        inv["status_transitions"]["finalized_at"] = objects.now()
        self._put(inv)
        self.emit("invoice.finalized", inv)

    def _invoice_collect(self, inv: Obj, pm: Obj | None, *, force_fail: bool = False) -> bool:
        """Attempt payment of an open invoice; emits invoice.paid or invoice.payment_failed."""
        before = copy.deepcopy(inv)
        inv["attempt_count"] += 1
        inv["attempted"] = True
        if pm is None:
            ok = False
        else:
            pi = objects.payment_intent(
                amount=inv["amount_remaining"],
                currency=inv["currency"],
                customer_id=inv["customer"],
                payment_method_id=pm["id"],
                metadata={},
                description="Subscription creation"
                if inv["billing_reason"] == "subscription_create"
                else "Subscription update",
            )
            self._put(pi)
            self.emit("payment_intent.created", pi)
            for earlier in self.store.children("invoice_payment", inv["id"]):
                # A retry replaces the failed attempt as the invoice's default payment.
                if earlier["status"] == "open":
                    earlier.update(status="canceled", is_default=False)
                    earlier["status_transitions"]["canceled_at"] = objects.now()
                    self._put(earlier)
            payment = objects.invoice_payment(inv=inv, pi=pi)
            ch = self._charge(pi, pm, force_fail=force_fail)
            ok = ch["status"] == "succeeded"
            if ok:
                payment["status"] = "paid"
                payment["amount_paid"] = pi["amount"]
                payment["status_transitions"]["paid_at"] = objects.now()
            self._put(payment)
        if ok:
            inv["status"] = "paid"
            inv["amount_paid"] = inv["amount_due"]
            inv["amount_remaining"] = 0
            inv["next_payment_attempt"] = None
            inv["status_transitions"]["paid_at"] = objects.now()
            self._put(inv)
            self.emit("invoice.paid", inv, _diff(before, inv))
            self.emit("invoice.payment_succeeded", inv)
        else:
            inv["next_payment_attempt"] = objects.now() + 3 * 86400
            self._put(inv)
            self.emit("invoice.payment_failed", inv, _diff(before, inv))
        return ok

    def _default_pm(self, sub: Obj) -> Obj | None:
        pm_id = sub["default_payment_method"]
        if not pm_id:
            cus = self.store.get(sub["customer"]) or {}
            pm_id = (cus.get("invoice_settings") or {}).get("default_payment_method")
        return self.store.get(pm_id) if pm_id else None

    def subscription_update(self, sub_id: str, params: Obj) -> Obj:
        with self.action():
            sub = self.get_kind(sub_id, "subscription")
            before = copy.deepcopy(sub)
            allowed_when_canceled = {"metadata", "cancellation_details", "expand"}
            if sub["status"] == "canceled" and set(params) - allowed_when_canceled:
                raise StripeError(
                    "A canceled subscription can only update its cancellation_details and metadata."
                )
            if "cancel_at_period_end" in params:
                self._set_cancel_at_period_end(sub, p_bool(params, "cancel_at_period_end"))
            if "cancel_at" in params:
                cancel_at = p_int(params, "cancel_at")
                sub["cancel_at"] = cancel_at
                sub["cancel_at_period_end"] = False
                sub["cancellation_details"]["reason"] = (
                    "cancellation_requested" if cancel_at else None
                )
            details = p_dict(params, "cancellation_details")
            for field in ("comment", "feedback"):
                if field in details:
                    sub["cancellation_details"][field] = p_str(details, field)
            if "default_payment_method" in params:
                pm_id = p_str(params, "default_payment_method")
                if pm_id:
                    self.get_kind(
                        pm_id, "payment_method", param="default_payment_method", status=400
                    )
                sub["default_payment_method"] = pm_id
            if "description" in params:
                sub["description"] = p_str(params, "description")
            sub["metadata"] = metadata_update(sub["metadata"], params)
            for i, change in enumerate(p_list(params, "items")):
                self._subscription_item_change(sub, change, i)
            self._updated("customer.subscription.updated", sub, before)
        return sub

    def _set_cancel_at_period_end(self, sub: Obj, value: bool) -> None:
        sub["cancel_at_period_end"] = value
        # Since 2025 Stripe mirrors a period-end cancellation into cancel_at.
        sub["cancel_at"] = _period_end(sub) if value else None
        sub["cancellation_details"]["reason"] = "cancellation_requested" if value else None

    def _subscription_item_change(self, sub: Obj, change: Obj, index: int) -> None:
        param = f"items[{index}]"
        items = sub["items"]["data"]
        item_id = p_str(change, "id")
        item = None
        if item_id:
            item = next((it for it in items if it["id"] == item_id), None)
            if item is None:
                raise no_such(item_id, param=f"{param}[id]", status=400)
        if p_bool(change, "deleted", False):
            if item is None:
                raise StripeError("Deleting an item needs its id.", param=f"{param}[id]")
            items.remove(item)
        else:
            price_id = p_str(change, "price")
            p = item["price"] if item else None
            if price_id:
                p = self.get_kind(price_id, "price", param=f"{param}[price]", status=400)
                if not p["recurring"]:
                    raise StripeError(
                        "The price specified is set to `type=one_time` but this field only "
                        "accepts prices with `type=recurring`.",
                        param=f"{param}[price]",
                    )
            if p is None:
                raise StripeError(
                    f"Missing required param: {param}[price].",
                    code="parameter_missing",
                    param=f"{param}[price]",
                )
            quantity = p_int(change, "quantity", default=item["quantity"] if item else 1)
            if item is None:
                start = items[0]["current_period_start"] if items else objects.now()
                end = (
                    items[0]["current_period_end"]
                    if items
                    else objects.add_interval(
                        start, p["recurring"]["interval"], p["recurring"]["interval_count"]
                    )
                )
                items.append(
                    objects.subscription_item(
                        sub_id=sub["id"],
                        p=p,
                        quantity=quantity,
                        period_start=start,
                        period_end=end,
                    )
                )
            else:
                item["price"] = p
                item["plan"] = objects.plan_from_price(p)
                item["quantity"] = quantity
                item["metadata"] = metadata_update(item["metadata"], change)
        if not items:
            raise StripeError("A subscription must have at least one item.", param="items")
        sub["items"]["total_count"] = len(items)

    def subscription_cancel(self, sub_id: str) -> Obj:
        with self.action():
            sub = self.get_kind(sub_id, "subscription")
            if sub["status"] in {"canceled", "incomplete_expired"}:
                # What Stripe answers for a subscription that has ended: the same 404 as for
                # an id it never knew, though a GET still returns the ended subscription.
                raise no_such(sub_id)
            self._subscription_end(sub, reason="cancellation_requested")
        return sub

    def _subscription_end(self, sub: Obj, *, reason: str, at: int | None = None) -> None:
        when = at or objects.now()
        sub["status"] = "canceled"
        sub["canceled_at"] = sub["canceled_at"] or objects.now()
        sub["ended_at"] = when
        sub["cancellation_details"]["reason"] = sub["cancellation_details"]["reason"] or reason
        self._put(sub)
        self.emit("customer.subscription.deleted", sub)

    def subscription_advance(
        self, sub_id: str, *, fail: bool = False, cancel: bool = False, settle: bool = True
    ) -> Obj:
        """Jump a subscription to the end of its current period.

        It ends there (``cancel``, or when set to cancel at period end) or renews: a new period
        and a draft invoice, which Stripe finalizes and charges about an hour later
        (RENEWAL_DRAFT_SECONDS). With ``settle`` the clock moves on that hour at once; without,
        the draft waits for ``clock_advance``. ``fail`` makes that charge decline. A subscription
        whose renewal failed (``past_due``) instead gets its next retry now; see
        ``_after_renewal_attempt`` for what follows the last one.
        """
        with self.action():
            sub = self.get_kind(sub_id, "subscription", param="subscription")
            if sub["status"] == "canceled":
                raise StripeError(f"Subscription {sub_id} is canceled and cannot advance.")
            before = copy.deepcopy(sub)
            end = _period_end(sub)
            if cancel or sub["cancel_at_period_end"] or (sub["cancel_at"] or end + 1) <= end:
                self._subscription_end(sub, reason="cancellation_requested", at=end)
                return sub
            open_invoice = None
            if sub["status"] in {"past_due", "unpaid"} and sub["latest_invoice"]:
                candidate = self.get(sub["latest_invoice"])
                if candidate["status"] == "open":
                    open_invoice = candidate
            if open_invoice is not None:
                paid = self._invoice_collect(open_invoice, self._default_pm(sub), force_fail=fail)
                self._after_renewal_attempt(sub, open_invoice, paid, before)
                return sub
            for item in sub["items"]["data"]:
                rec = item["price"]["recurring"]
                item["current_period_start"] = item["current_period_end"]
                item["current_period_end"] = objects.add_interval(
                    item["current_period_end"], rec["interval"], rec["interval_count"]
                )
            draft = self._subscription_invoice(
                sub, "subscription_cycle", before_start(before), end, draft=True
            )
            draft["_force_fail"] = fail
            self._put(draft)
            sub["latest_invoice"] = draft["id"]
            self._updated("customer.subscription.updated", sub, before)
            if settle:
                self.clock_advance(RENEWAL_DRAFT_SECONDS)
            sub = self.get(sub_id)
        return sub

    def _after_renewal_attempt(self, sub: Obj, inv: Obj, paid: bool, before: Obj) -> None:
        """After a renewal's charge: paid, or the next retry scheduled (RETRY_DAYS), or, past
        the last one, what the account's failed-payment setting says (``failed_payments``:
        cancel with reason payment_failed, leave it unpaid, or leave it past due)."""
        if paid:
            sub["status"] = "active"
        elif inv["attempt_count"] <= len(RETRY_DAYS):
            inv["next_payment_attempt"] = (
                objects.now() + RETRY_DAYS[inv["attempt_count"] - 1] * 86400
            )
            self._put(inv)
            sub["status"] = "past_due"
        else:
            inv["next_payment_attempt"] = None
            self._put(inv)
            setting = self.store.meta("failed_payments", "cancel")
            if setting == "cancel":
                sub["cancellation_details"]["reason"] = "payment_failed"
                self._subscription_end(sub, reason="payment_failed")
                return
            sub["status"] = "unpaid" if setting == "unpaid" else "past_due"
        self._updated("customer.subscription.updated", sub, before)

    # -- the clock -----------------------------------------------------------------------------

    def clock_advance(self, seconds: int) -> int:
        """Move the stand-in's clock on and do what became due meanwhile: drafts finalized and
        charged, failed renewals retried. Returns the new time."""
        with self.action():
            objects.set_clock_offset(objects.clock_offset() + max(0, int(seconds)))
            for _ in range(100):  # each pass may make more work due (a retry after a charge)
                if not self._run_due():
                    break
        return objects.now()

    def _run_due(self) -> bool:
        now = objects.now()
        for inv in reversed(self.store.all("invoice")):
            sub = self._invoice_subscription(inv)
            if sub is None or sub["status"] == "canceled":
                continue
            due_draft = (
                inv["status"] == "draft"
                and (inv.get("automatically_finalizes_at") or now + 1) <= now
            )
            due_retry = (
                inv["status"] == "open"
                and inv["billing_reason"] == "subscription_cycle"
                and (inv.get("next_payment_attempt") or now + 1) <= now
            )
            if not (due_draft or due_retry):
                continue
            before = copy.deepcopy(sub)
            if due_draft:
                self._invoice_finalize(inv)
            paid = self._invoice_collect(
                inv, self._default_pm(sub), force_fail=bool(inv.pop("_force_fail", False))
            )
            self._after_renewal_attempt(sub, inv, paid, before)
            return True
        return False

    def invoice_pay(self, in_id: str, params: Obj) -> tuple[Obj, bool]:
        """Pay an open invoice with its subscription's card (or mark it paid out of band)."""
        with self.action():
            inv = self.get_kind(in_id, "invoice")
            if inv["status"] != "open":
                raise StripeError("Invoice is already paid", code="invoice_not_open")
            if p_bool(params, "paid_out_of_band", False):
                before = copy.deepcopy(inv)
                inv.update(status="paid", amount_remaining=0, amount_paid_off_stripe=0)
                inv["status_transitions"]["paid_at"] = objects.now()
                self._put(inv)
                self.emit("invoice.paid", inv, _diff(before, inv))
                return inv, True
            pm_id = p_str(params, "payment_method")
            sub = self._invoice_subscription(inv)
            pm = (
                self.get_kind(pm_id, "payment_method", param="payment_method", status=400)
                if pm_id
                else (self._default_pm(sub) if sub else None)
            )
            paid = self._invoice_collect(inv, pm)
            self._after_invoice_attempt(sub, paid)
        return inv, paid

    def invoice_pay_with_card(self, in_id: str, *, card: str, exp: str = "", cvc: str = "") -> Obj:
        """The hosted invoice page: pay an open invoice with a newly typed card."""
        with self.action():
            inv = self.get_kind(in_id, "invoice")
            if inv["status"] != "open":
                raise StripeError("This invoice is not open.")
            read = read_card(card, exp, cvc)
            if isinstance(read, Decline):
                raise card_error(read)
            decline = charge_decline(read.number)
            if decline:
                raise card_error(decline)
            cus = self.store.get(inv["customer"])
            pm = self._payment_method(
                read, email=inv["customer_email"], name=inv["customer_name"], customer=cus
            )
            sub = self._invoice_subscription(inv)
            paid = self._invoice_collect(inv, pm)
            self._after_invoice_attempt(sub, paid)
        return inv

    def _invoice_subscription(self, inv: Obj) -> Obj | None:
        details = (inv.get("parent") or {}).get("subscription_details") or {}
        return self.store.get(details["subscription"]) if details.get("subscription") else None

    def _after_invoice_attempt(self, sub: Obj | None, paid: bool) -> None:
        if sub is None or sub["status"] == "canceled":
            return
        before = copy.deepcopy(sub)
        sub["status"] = "active" if paid else "past_due"
        self._updated("customer.subscription.updated", sub, before)

    # -- billing portal ------------------------------------------------------------------------

    _PORTAL_FEATURES = (
        "customer_update",
        "invoice_history",
        "payment_method_update",
        "subscription_cancel",
        "subscription_update",
    )

    def _portal_features(self, bpc: Obj, features: Obj) -> None:
        for name, wanted in features.items():
            if name not in self._PORTAL_FEATURES or not isinstance(wanted, dict):
                raise StripeError(
                    f"Received unknown parameter: features[{name}]", param=f"features[{name}]"
                )
            current = bpc["features"][name]
            for field, value in wanted.items():
                if field not in current:
                    raise StripeError(
                        f"Received unknown parameter: features[{name}][{field}]",
                        param=f"features[{name}][{field}]",
                    )
                current[field] = p_bool(wanted, field) if field == "enabled" else value
        if bpc["features"]["subscription_cancel"]["mode"] not in {"at_period_end", "immediately"}:
            raise StripeError(
                "Invalid features[subscription_cancel][mode]: must be one of at_period_end or "
                "immediately",
                param="features[subscription_cancel][mode]",
            )

    def portal_configuration_create(self, params: Obj) -> Obj:
        with self.action():
            features = p_dict(params, "features")
            if not features:
                raise StripeError(
                    "Missing required param: features.", code="parameter_missing", param="features"
                )
            # Configurations made through the API are never the default: only saving the
            # portal settings in the Dashboard makes that one.
            bpc = objects.portal_configuration(is_default=False)
            self._portal_features(bpc, features)
            bpc["metadata"] = metadata_update({}, params)
            bpc["default_return_url"] = p_str(params, "default_return_url")
            self._put(bpc)
            self.emit("billing_portal.configuration.created", bpc)
        return bpc

    def portal_configuration_update(self, bpc_id: str, params: Obj) -> Obj:
        with self.action():
            bpc = self.get_kind(bpc_id, "billing_portal.configuration")
            before = copy.deepcopy(bpc)
            if "active" in params:
                bpc["active"] = p_bool(params, "active")
            self._portal_features(bpc, p_dict(params, "features"))
            bpc["metadata"] = metadata_update(bpc["metadata"], params)
            if "default_return_url" in params:
                bpc["default_return_url"] = p_str(params, "default_return_url")
            bpc["updated"] = objects.now()
            self._updated("billing_portal.configuration.updated", bpc, before)
        return bpc

    def portal_create(self, params: Obj) -> Obj:
        with self.action():
            cus_id = p_str(params, "customer", required=True) or ""
            self.get_kind(cus_id, "customer", param="customer", status=400)
            bpc_id = p_str(params, "configuration")
            if bpc_id:
                bpc = self.get_kind(
                    bpc_id, "billing_portal.configuration", param="configuration", status=400
                )
                if not bpc["active"]:
                    raise StripeError(
                        "The configuration specified is inactive.", param="configuration"
                    )
            else:
                bpc = next(
                    (
                        c
                        for c in self.store.all("billing_portal.configuration")
                        if c["is_default"] and c["active"]
                    ),
                    None,
                )
                if bpc is None:
                    # A new account, as Stripe answers until the portal settings are saved.
                    raise StripeError(
                        "No configuration provided and your test mode default configuration "
                        "has not been created. Provide a configuration or create your default "
                        "by saving your customer portal settings in test mode at "
                        "https://dashboard.stripe.com/test/settings/billing/portal."
                    )
            bps = objects.portal_session(
                customer_id=cus_id,
                return_url=p_str(params, "return_url"),
                url_template=self.url("/portal/{id}"),
                configuration_id=bpc["id"],
            )
            self._put(bps)
        return bps

    def _portal_allows(self, bps: Obj, feature: str) -> None:
        bpc = self.store.get(bps["configuration"]) or {}
        if not ((bpc.get("features") or {}).get(feature) or {}).get("enabled"):
            raise StripeError("This portal does not allow that.", status=403)

    def portal_set_cancel(self, bps_id: str, sub_id: str, *, cancel: bool) -> Obj:
        with self.action():
            bps = self.get_kind(bps_id, "billing_portal.session")
            if cancel:
                self._portal_allows(bps, "subscription_cancel")
            sub = self.get_kind(sub_id, "subscription")
            if sub["customer"] != bps["customer"] or sub["status"] == "canceled":
                raise StripeError("This subscription cannot be changed from this portal.")
            before = copy.deepcopy(sub)
            self._set_cancel_at_period_end(sub, cancel)
            self._updated("customer.subscription.updated", sub, before)
        return sub

    def portal_change_card(self, bps_id: str, *, card: str, exp: str = "", cvc: str = "") -> Obj:
        with self.action():
            bps = self.get_kind(bps_id, "billing_portal.session")
            self._portal_allows(bps, "payment_method_update")
            read = read_card(card, exp, cvc)
            if isinstance(read, Decline):
                raise card_error(read)
            decline = attach_decline(read.number)
            if decline:
                raise card_error(decline)
            cus = self.get_kind(bps["customer"], "customer")
            pm = self._payment_method(read, email=cus["email"], name=cus["name"], customer=cus)
            before = copy.deepcopy(cus)
            cus["invoice_settings"]["default_payment_method"] = pm["id"]
            self._updated("customer.updated", cus, before)
            for sub in self.store.all("subscription"):
                if sub["customer"] == cus["id"] and sub["status"] != "canceled":
                    sub_before = copy.deepcopy(sub)
                    sub["default_payment_method"] = pm["id"]
                    self._updated("customer.subscription.updated", sub, sub_before)
        return pm

    # -- reading -------------------------------------------------------------------------------

    def customer_subscriptions(self, cus_id: str) -> list[Obj]:
        return self.store.children("subscription", cus_id)

    def customer_invoices(self, cus_id: str) -> list[Obj]:
        return self.store.children("invoice", cus_id)

    def includable(self, obj: Obj, field: str) -> Obj | None:
        """Lists Stripe returns only on ``expand[]`` (``line_items``, ``payments``, ...)."""
        kind = obj.get("object")
        if kind == "checkout.session" and field == "line_items":
            return objects.list_object(
                obj.get("_line_items", []), f"/v1/checkout/sessions/{obj['id']}/line_items"
            )
        if kind == "invoice" and field == "payments":
            payments = self.store.children("invoice_payment", obj["id"])
            return objects.list_object(payments, f"/v1/invoice_payments?invoice={obj['id']}")
        if kind == "charge" and field == "refunds":
            refunds = self.store.children("refund", obj["id"])
            return objects.list_object(refunds, f"/v1/refunds?charge={obj['id']}")
        if kind == "customer" and field == "subscriptions":
            subs = [
                public(s)
                for s in self.customer_subscriptions(obj["id"])
                if s["status"] != "canceled"
            ]
            return objects.list_object(subs, f"/v1/customers/{obj['id']}/subscriptions")
        return None

    def new_request_id(self) -> str:
        return "req_" + secrets.token_hex(7)

    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            objects.set_clock_offset(0)


def _period_end(sub: Obj) -> int:
    return min(item["current_period_end"] for item in sub["items"]["data"])


def before_start(sub: Obj) -> int:
    return min(item["current_period_start"] for item in sub["items"]["data"])


def _diff(before: Obj, after: Obj) -> Obj:
    return {k: v for k, v in before.items() if after.get(k) != v and not k.startswith("_")}


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2)
