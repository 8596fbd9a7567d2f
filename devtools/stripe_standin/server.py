"""The HTTP server: the ``/v1`` API, the hosted pages and the ``/_standin`` test controls."""

from __future__ import annotations

import collections
import json
import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import objects, pages
from .api import Api
from .engine import Engine, StripeError, public
from .forms import FormError, decode
from .objects import API_VERSION
from .store import Store
from .webhooks import DEFAULT_RETRY_DELAYS, WebhookSender

Obj = dict[str, Any]
log = logging.getLogger("stripe_standin")

# Stripe's versions: a date, then a release name since 2024-09-30 ("2026-10-28.endive").
_API_VERSION_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")

FAILED_PAYMENT_SETTINGS = ("cancel", "unpaid", "past_due")

_PORTAL_NOTICES = {
    "canceled": "Your subscription will be canceled at the end of the billing period.",
    "resumed": "Your subscription will renew.",
    "card": "Your card was updated.",
}


class StandinServer:
    """A local Stripe for stripe-python, served from a background thread.

    >>> srv = StandinServer(port=0, webhook_url=..., webhook_secret="whsec_x").start()
    >>> client = stripe.StripeClient("sk_test_standin", base_addresses={"api": srv.url})
    >>> srv.stop()
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        data: str = ":memory:",
        public_url: str | None = None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        log_requests: bool = False,
        failed_payments: str = "",
    ) -> None:
        self.host = host
        self.port = port
        self.log_requests = log_requests
        self._public_url = public_url
        self.store = Store(data)
        self.sender = WebhookSender(
            self.store, url=webhook_url, secret=webhook_secret, retry_delays=retry_delays
        )
        self.engine = Engine(self.store, public_url=public_url or "", deliver=self.sender.submit)
        self.engine.webhook_url = lambda: self.sender.url
        objects.set_clock_offset(0)  # a new account's clock starts at the real time
        if failed_payments:
            self.failed_payments = failed_payments
        self.api = Api(self.engine)
        # The latest API requests as (method, path), for tests that count Stripe round trips.
        self.requests: collections.deque[tuple[str, str]] = collections.deque(maxlen=1000)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def bind(self) -> ThreadingHTTPServer:
        """Open the listening socket and start the webhook sender; ``serve_forever`` follows."""
        if self._httpd is not None:
            return self._httpd
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.standin = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self.port = httpd.server_address[1]
        if not self._public_url:
            self.engine.public_url = f"http://{self.host}:{self.port}"
        self.sender.start()
        self.sender.requeue_undelivered()
        return httpd

    def start(self) -> StandinServer:
        """Bind (port 0 picks a free one) and serve from a daemon thread."""
        httpd = self.bind()
        # A short poll keeps stop() quick, which matters when every test starts a server.
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="stripe-standin-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``stop()`` or an interrupt."""
        httpd = self.bind()
        try:
            httpd.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        if self._httpd is not None:
            if self._thread is not None:
                self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.sender.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- conveniences for tests ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API base to give stripe-python (and the origin of the hosted pages)."""
        return f"http://{self.host}:{self.port}"

    @property
    def webhook_url(self) -> str | None:
        return self.sender.url

    @webhook_url.setter
    def webhook_url(self, value: str | None) -> None:
        self.sender.url = value

    @property
    def webhook_secret(self) -> str:
        return self.sender.secret

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        self.sender.secret = value

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued webhook was delivered or given up on."""
        return self.sender.wait_idle(timeout)

    def events(self, type_: str | None = None) -> list[Obj]:
        """Events in the order they happened, each with its delivery attempts."""
        found = [
            {**public(e), "deliveries": e.get("_deliveries", [])}
            for e in reversed(self.store.all("event"))
        ]
        return [e for e in found if type_ is None or e["type"] == type_]

    def pay(self, session_id: str, card: str = "4242424242424242", **fields: str) -> Obj:
        """Complete a Checkout Session as the hosted page does (raises StripeError on decline)."""
        return public(self.engine.checkout_pay(session_id, card=card, **fields))

    def advance(
        self, subscription_id: str, *, fail: bool = False, cancel: bool = False, settle: bool = True
    ) -> Obj:
        """The subscription's period ends now: it renews (a draft invoice charged an hour later,
        at once with ``settle``), retries a failed renewal, or ends."""
        return public(
            self.engine.subscription_advance(
                subscription_id, fail=fail, cancel=cancel, settle=settle
            )
        )

    def clock_advance(self, seconds: int) -> int:
        """Move the clock on (drafts are charged, failed renewals retried); returns the time."""
        return self.engine.clock_advance(seconds)

    @property
    def failed_payments(self) -> str:
        """What follows a renewal's last failed retry: "cancel" (reason payment_failed, the
        default), "unpaid" or "past_due", as the account's subscription settings say."""
        return self.store.meta("failed_payments", "cancel") or "cancel"

    @failed_payments.setter
    def failed_payments(self, value: str) -> None:
        if value not in FAILED_PAYMENT_SETTINGS:
            raise ValueError(f"failed_payments is one of {', '.join(FAILED_PAYMENT_SETTINGS)}")
        self.store.set_meta("failed_payments", value)

    def set_delivery(
        self, *, duplicate: bool = False, order: str = "normal", actions: int = 1
    ) -> Obj:
        return self.sender.set_mode(duplicate=duplicate, order=order, actions=actions)

    def reset(self) -> None:
        self.sender.clear()
        self.engine.reset()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StripeStandin/1.0"
    # Headers and body leave as one write; otherwise Nagle and delayed ACKs add ~40 ms to
    # every keep-alive request stripe-python makes.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024

    @property
    def standin(self) -> StandinServer:
        return self.server.standin  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        if self.standin.log_requests:
            log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ------------------------------------------------------------------------------

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any, **headers: str) -> None:
        # Compact: the webhook path reads every object again, and indenting costs both sides.
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._send(status, body, "application/json", **headers)

    def _html(self, status: int, html: str) -> None:
        self._send(status, html.encode(), "text/html; charset=utf-8")

    def _redirect(self, location: str) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", Location=location)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        try:
            if path.startswith("/v1/"):
                self._api(method, path, query)
            elif path.startswith("/_standin/"):
                self._control(method, path, query)
            else:
                self._page(method, path, query)
        except StripeError as exc:
            self._json(exc.status, exc.body())
        except Exception:
            log.exception("stand-in failed on %s %s", method, self.path)
            self._json(
                500,
                StripeError(
                    "The Stripe stand-in failed; see its log.", status=500, type_="api_error"
                ).body(),
            )

    # -- /v1 -----------------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: str) -> None:
        self.standin.requests.append((method, path))
        request_id = self.standin.engine.new_request_id()
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        auth = self.headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ").strip()
        if not key.startswith(("sk_test_", "rk_test_")):
            message = (
                "You did not provide an API key. The stand-in accepts any test key, "
                "such as sk_test_standin."
                if not key
                else "The Stripe stand-in only accepts test-mode keys (sk_test_...)."
            )
            self._json(
                401, {"error": {"message": message, "type": "invalid_request_error"}}, **headers
            )
            return
        body = "" if method in {"GET", "DELETE"} else self._body()  # read it even to refuse
        asked = self.headers.get("Stripe-Version")
        if asked and asked != API_VERSION:
            # Stripe answers in the version a request asks for. The stand-in builds objects in
            # one version only, so it refuses the others rather than answer in the wrong shape.
            message = (
                f"Invalid Stripe API version: {asked}"
                if not _API_VERSION_SHAPE.fullmatch(asked)
                else f"The Stripe stand-in only speaks API version {API_VERSION}, not {asked}."
            )
            self._json(400, StripeError(message).body(), **headers)
            return
        try:
            params = decode(query) if method in {"GET", "DELETE"} else decode(body)
        except FormError as exc:
            self._json(400, StripeError(str(exc)).body(), **headers)
            return
        idempotency_key = self.headers.get("Idempotency-Key")
        status, body, replayed = self.standin.api.handle(
            method, path, params, idempotency_key, request_id
        )
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        self._json(status, body, **headers)

    # -- /_standin -----------------------------------------------------------------------------

    def _control_params(self, query: str) -> Obj:
        raw = self._body()
        params: Obj = dict(parse_qsl(query))
        if raw.strip().startswith("{"):
            params.update(json.loads(raw))
        elif raw:
            params.update(decode(raw))
        return params

    def _control(self, method: str, path: str, query: str) -> None:
        srv = self.standin
        params = self._control_params(query)
        route = path.removeprefix("/_standin/").strip("/")
        if method == "GET" and route == "events":
            self._json(200, {"data": srv.events(params.get("type"))})
        elif method == "GET" and route == "deliveries":
            self._json(200, {"data": list(srv.sender.log)})
        elif method == "POST" and (m := re.fullmatch(r"resend/(evt_\w+)", route)):
            srv.engine.get(m.group(1))
            srv.sender.resend(m.group(1))
            self._json(200, {"resent": m.group(1)})
        elif route == "delivery" and method in {"GET", "POST"}:
            if method == "POST":
                try:
                    srv.set_delivery(
                        duplicate=_truthy(params.get("duplicate")),
                        order=str(params.get("order") or "normal"),
                        actions=int(params.get("actions", 1)),
                    )
                except ValueError as exc:
                    raise StripeError(str(exc)) from None
            self._json(200, srv.sender.mode())
        elif method == "POST" and route == "advance":
            sub_id = params.get("subscription")
            if not sub_id:
                raise StripeError(
                    "Missing required param: subscription.",
                    code="parameter_missing",
                    param="subscription",
                )
            sub = srv.advance(
                str(sub_id),
                fail=_truthy(params.get("fail")),
                cancel=_truthy(params.get("cancel")),
                settle=_truthy(params.get("settle", "true")),
            )
            self._json(200, sub)
        elif route == "clock" and method in {"GET", "POST"}:
            if method == "POST":
                try:
                    srv.clock_advance(int(params.get("advance", 0)))
                except ValueError as exc:
                    raise StripeError(str(exc), param="advance") from None
            self._json(200, {"now": objects.now(), "offset": objects.clock_offset()})
        elif method == "POST" and (m := re.fullmatch(r"pay/(cs_\w+)", route)):
            fields = {k: str(params[k]) for k in ("exp", "cvc", "email", "name") if k in params}
            session = srv.pay(m.group(1), str(params.get("card", "4242424242424242")), **fields)
            self._json(
                200, {"session": session, "redirect_url": srv.engine.success_redirect(session)}
            )
        elif method == "POST" and route == "reset":
            srv.reset()
            self._json(200, {"reset": True})
        elif method == "POST" and route == "wait":
            idle = srv.wait_for_webhooks(float(params.get("timeout", 10)))
            self._json(200 if idle else 504, {"idle": idle})
        elif route == "config" and method in {"GET", "POST"}:
            if "webhook_url" in params:
                srv.webhook_url = params["webhook_url"] or None
            if "webhook_secret" in params:
                srv.webhook_secret = str(params["webhook_secret"])
            if "failed_payments" in params:
                try:
                    srv.failed_payments = str(params["failed_payments"])
                except ValueError as exc:
                    raise StripeError(str(exc), param="failed_payments") from None
            self._json(
                200,
                {
                    "url": srv.url,
                    "webhook_url": srv.webhook_url,
                    "api_version": API_VERSION,
                    "failed_payments": srv.failed_payments,
                },
            )
        else:
            raise StripeError(f"Unknown stand-in control: {method} {path}", status=404)

    # -- hosted pages --------------------------------------------------------------------------

    def _page(self, method: str, path: str, query: str) -> None:
        srv = self.standin
        engine = srv.engine
        form = (
            {k: v for k, v in decode(self._body()).items() if isinstance(v, str)}
            if method == "POST"
            else {}
        )
        args = dict(parse_qsl(query))
        if path == "/" and method == "GET":
            self._html(200, pages.index(srv.url, srv.webhook_url, srv.store.all("event")))
        elif m := re.fullmatch(r"/checkout/(cs_\w+)", path):
            self._checkout(method, m.group(1), form)
        elif m := re.fullmatch(r"/portal/(bps_\w+)(?:/(.*))?", path):
            self._portal(method, m.group(1), m.group(2) or "", form, args)
        elif (m := re.fullmatch(r"/invoice/(in_\w+)/pdf", path)) and method == "GET":
            inv = engine.get_kind(m.group(1), "invoice")
            self._send(
                200,
                pages.invoice_pdf(inv),
                "application/pdf",
                Content_Disposition=f'inline; filename="{inv["number"]}.pdf"',
            )
        elif m := re.fullmatch(r"/invoice/(in_\w+)", path):
            self._invoice(method, m.group(1), form, args)
        elif (m := re.fullmatch(r"/receipt/(ch_\w+)", path)) and method == "GET":
            self._html(200, pages.receipt(engine.get_kind(m.group(1), "charge")))
        else:
            self._html(404, pages.message("Not found", "The stand-in has no page here."))

    def _products(self) -> dict[str, str]:
        return {p["id"]: p["name"] for p in self.standin.store.all("product")}

    def _checkout(self, method: str, cs_id: str, form: dict[str, str]) -> None:
        engine = self.standin.engine
        session = engine.get_kind(cs_id, "checkout.session")
        if method == "GET":
            self._html(200, pages.checkout(session, self._products()))
            return
        try:
            session = engine.checkout_pay(
                cs_id,
                card=form.get("card", ""),
                exp=form.get("exp", ""),
                cvc=form.get("cvc", ""),
                email=form.get("email") or None,
                name=form.get("name") or None,
            )
        except StripeError as exc:
            fresh = engine.get_kind(cs_id, "checkout.session")
            self._html(
                exc.status, pages.checkout(fresh, self._products(), error=exc.message, form=form)
            )
            return
        target = engine.success_redirect(session)
        if target:
            self._redirect(target)
        else:
            self._html(
                200, pages.message("Payment complete", "Thank you. You can close this page.")
            )

    def _portal(
        self, method: str, bps_id: str, action: str, form: dict[str, str], args: dict[str, str]
    ) -> None:
        engine = self.standin.engine
        session = engine.get_kind(bps_id, "billing_portal.session")
        error = None
        if method == "POST":
            try:
                if m := re.fullmatch(r"subscriptions/(sub_\w+)/(cancel|resume)", action):
                    engine.portal_set_cancel(bps_id, m.group(1), cancel=m.group(2) == "cancel")
                    self._redirect(
                        f"/portal/{bps_id}?notice="
                        f"{'canceled' if m.group(2) == 'cancel' else 'resumed'}"
                    )
                    return
                if action == "card":
                    engine.portal_change_card(
                        bps_id,
                        card=form.get("card", ""),
                        exp=form.get("exp", ""),
                        cvc=form.get("cvc", ""),
                    )
                    self._redirect(f"/portal/{bps_id}?notice=card")
                    return
                raise StripeError("Unknown portal action.", status=404)
            except StripeError as exc:
                error = exc.message
        customer = engine.get(session["customer"])
        subs = engine.customer_subscriptions(customer["id"])
        pm_id = customer["invoice_settings"]["default_payment_method"] or next(
            (s["default_payment_method"] for s in subs if s["default_payment_method"]), None
        )
        card = self.standin.store.get(pm_id) if pm_id else None
        html = pages.portal(
            session,
            customer,
            subs,
            engine.customer_invoices(customer["id"]),
            card,
            self._products(),
            notice=_PORTAL_NOTICES.get(args.get("notice", "")),
            error=error,
        )
        self._html(400 if error else 200, html)

    def _invoice(self, method: str, in_id: str, form: dict[str, str], args: dict[str, str]) -> None:
        engine = self.standin.engine
        if method == "POST":
            try:
                engine.invoice_pay_with_card(
                    in_id,
                    card=form.get("card", ""),
                    exp=form.get("exp", ""),
                    cvc=form.get("cvc", ""),
                )
            except StripeError as exc:
                self._html(
                    exc.status, pages.invoice(engine.get_kind(in_id, "invoice"), error=exc.message)
                )
                return
            self._redirect(f"/invoice/{in_id}?notice=paid")
            return
        notice = "Thank you, this invoice is paid." if args.get("notice") == "paid" else None
        self._html(200, pages.invoice(engine.get_kind(in_id, "invoice"), notice=notice))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in {"1", "true", "yes", "on"}
    return bool(value)
