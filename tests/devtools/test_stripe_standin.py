"""The Stripe stand-in, driven by the real stripe-python library over HTTP.

No Django here: the stand-in is a plain HTTP server. Webhooks go to a small receiver on the
loopback interface that checks every signature with ``stripe.Webhook.construct_event``, the
same call the portal's webhook view makes.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from devtools.stripe_standin import StandinServer

SECRET = "whsec_standin_tests"
SUCCESS_URL = "http://127.0.0.1:9/joined?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://127.0.0.1:9/join"


# -- fixtures ----------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook endpoint that verifies signatures and records events in arrival order."""

    url: str = ""
    events: list[stripe.Event] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # replies to give before answering 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def of_type(self, type_: str) -> list[stripe.Event]:
        return [e for e in self.events if e.type == type_]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = self.rfile.read(int(self.headers["Content-Length"])).decode()
            with rec.lock:
                status = rec.statuses.pop(0) if rec.statuses else 200
                if status == 200:
                    try:
                        event = stripe.Webhook.construct_event(
                            payload, self.headers.get("Stripe-Signature"), SECRET
                        )
                    except stripe.SignatureVerificationError as exc:
                        rec.rejected.append(str(exc))
                        status = 400
                    else:
                        rec.events.append(event)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{httpd.server_address[1]}/stripe/webhook/"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield rec
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def standin(receiver: Receiver) -> Iterator[StandinServer]:
    srv = StandinServer(
        port=0, webhook_url=receiver.url, webhook_secret=SECRET, retry_delays=(0.05, 0.1)
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(standin: StandinServer) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_standin", base_addresses={"api": standin.url}, max_network_retries=0
    )


def yearly_price(client: stripe.StripeClient, lookup_key: str = "member_annual") -> stripe.Price:
    product = client.v1.products.create(params={"name": "Full membership"})
    return client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 12000,
            "recurring": {"interval": "year"},
            "lookup_key": lookup_key,
        }
    )


def subscription_session(client: stripe.StripeClient, **extra: Any) -> stripe.checkout.Session:
    price = yearly_price(client)
    customer = client.v1.customers.create(params={"email": "ada@example.com", "name": "Ada"})
    return client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price.id, "quantity": 1}],
            "client_reference_id": "member-42",
            "metadata": {"purpose": "membership"},
            "subscription_data": {"metadata": {"member": "42"}},
            "success_url": SUCCESS_URL,
            "cancel_url": CANCEL_URL,
            **extra,
        }
    )


def subscribe(client: stripe.StripeClient, standin: StandinServer) -> stripe.Subscription:
    session = subscription_session(client)
    standin.pay(session.id)
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["subscription"]})
    return done.subscription


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def browser_post(url: str, form: dict[str, str]) -> tuple[int, str, str | None]:
    """Submit a form like a browser would, without following the redirect."""
    opener = urllib.request.build_opener(_NoRedirect)
    data = urllib.parse.urlencode(form).encode()
    try:
        with opener.open(url, data=data) as resp:
            return resp.status, resp.read().decode(), resp.headers.get("Location")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers.get("Location")


def get(url: str) -> tuple[int, bytes, str]:
    with urllib.request.urlopen(url) as resp:  # noqa: S310 - loopback test server
        return resp.status, resp.read(), resp.headers.get("Content-Type")


def control(standin: StandinServer, path: str, payload: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback test server
        f"{standin.url}/_standin/{path}",
        data=json.dumps(payload or {}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as resp:  # noqa: S310 - loopback test server
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- catalogue and customers -------------------------------------------------------------------


def test_customer_create_update_and_list_by_email(client: stripe.StripeClient) -> None:
    ada = client.v1.customers.create(params={"email": "ada@example.com", "metadata": {"m": "1"}})
    client.v1.customers.create(params={"email": "bob@example.com"})

    client.v1.customers.update(ada.id, params={"name": "Ada L", "metadata": {"m": "", "n": "2"}})

    found = client.v1.customers.list(params={"email": "ada@example.com"})
    assert [c.id for c in found.data] == [ada.id]
    assert found.data[0].name == "Ada L"
    assert found.data[0].metadata.to_dict() == {"n": "2"}
    assert client.v1.customers.retrieve(ada.id).object == "customer"


def test_price_found_by_lookup_key_and_key_transfer(client: stripe.StripeClient) -> None:
    old = yearly_price(client)

    listed = client.v1.prices.list(
        params={"lookup_keys": ["member_annual"], "active": True, "expand": ["data.product"]}
    )
    assert [p.id for p in listed.data] == [old.id]
    assert listed.data[0].product.name == "Full membership"
    assert listed.data[0].recurring.interval == "year"

    with pytest.raises(stripe.InvalidRequestError, match="already uses that lookup key"):
        yearly_price(client)
    new = client.v1.prices.create(
        params={
            "product": old.product,
            "currency": "usd",
            "unit_amount": 15000,
            "recurring": {"interval": "year"},
            "lookup_key": "member_annual",
            "transfer_lookup_key": True,
        }
    )
    listed = client.v1.prices.list(params={"lookup_keys": ["member_annual"]})
    assert [p.id for p in listed.data] == [new.id]
    assert client.v1.prices.retrieve(old.id).lookup_key is None


def test_idempotency_key_returns_the_first_object(client: stripe.StripeClient) -> None:
    params = {"email": "once@example.com"}
    first = client.v1.customers.create(params=params, options={"idempotency_key": "join-7"})
    again = client.v1.customers.create(params=params, options={"idempotency_key": "join-7"})

    assert again.id == first.id
    assert len(client.v1.customers.list(params={"email": "once@example.com"}).data) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(
            params={"email": "other@example.com"}, options={"idempotency_key": "join-7"}
        )


def test_list_pages_with_starting_after(client: stripe.StripeClient) -> None:
    ids = [client.v1.customers.create(params={"name": f"c{i}"}).id for i in range(5)]

    first = client.v1.customers.list(params={"limit": 2})
    second = client.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})
    everything = [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()]

    assert first.has_more is True
    assert [c.id for c in first.data + second.data] == ids[::-1][:4]
    assert everything == ids[::-1]


def test_errors_raise_stripe_exception_types(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_missing")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"

    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.checkout.sessions.create(params={"mode": "subscription"})
    assert bad.value.http_status == 400
    assert bad.value.param == "line_items"

    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient(
            "sk_live_nope", base_addresses={"api": client._requestor.base_addresses["api"]}
        ).v1.customers.list()


# -- checkout ------------------------------------------------------------------------------------


def test_subscription_checkout_paid_on_hosted_page(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    session = subscription_session(client)
    status, page, _ = get(session.url)
    assert status == 200
    assert b"Full membership" in page
    assert b"$120.00" in page

    status, _, location = browser_post(
        session.url, {"card": "4242 4242 4242 4242", "exp": "12 / 34", "cvc": "123"}
    )

    assert status == 303
    assert location == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    done = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["subscription", "line_items", "invoice.payments"]}
    )
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert done.line_items.data[0].price.lookup_key == "member_annual"
    sub = done.subscription
    item = sub["items"].data[0]
    assert sub.status == "active"
    assert sub.metadata.to_dict() == {"member": "42"}
    assert 365 <= (item.current_period_end - item.current_period_start) // 86400 <= 366
    invoice = done.invoice
    assert invoice.status == "paid"
    assert invoice.amount_paid == 12000
    assert invoice.parent.subscription_details.subscription == sub.id
    payment_intent = invoice.payments.data[0].payment.payment_intent
    assert client.v1.payment_intents.retrieve(payment_intent).status == "succeeded"
    assert get(invoice.hosted_invoice_url)[0] == 200
    _, pdf, content_type = get(invoice.invoice_pdf)
    assert content_type == "application/pdf"
    assert pdf.startswith(b"%PDF")

    assert standin.wait_for_webhooks()
    assert receiver.rejected == []
    completed = receiver.of_type("checkout.session.completed")
    assert len(completed) == 1
    assert completed[0].api_version == stripe.api_version
    assert completed[0].data.object.client_reference_id == "member-42"
    assert completed[0].data.object.subscription == sub.id
    assert {"customer.subscription.created", "invoice.paid"} <= set(receiver.types())
    assert receiver.types().index("invoice.paid") < receiver.types().index(
        "checkout.session.completed"
    )


def test_declined_card_shows_error_and_creates_nothing(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    session = subscription_session(client)

    status, page, _ = browser_post(session.url, {"card": "4000 0000 0000 0002", "exp": "1/40"})

    assert status == 402
    assert "Your card was declined." in page
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert client.v1.subscriptions.list(params={"status": "all"}).data == []
    assert client.v1.invoices.list().data == []
    assert standin.wait_for_webhooks()
    assert "checkout.session.completed" not in receiver.types()


def test_payment_checkout_with_inline_price_paid_by_control_endpoint(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "customer_email": "guest@example.com",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 4500,
                        "product_data": {"name": "Conference ticket"},
                    },
                    "quantity": 2,
                }
            ],
            "metadata": {"order": "o-1"},
            "payment_intent_data": {"metadata": {"order": "o-1"}},
            "success_url": SUCCESS_URL,
        }
    )
    assert session.amount_total == 9000

    status, body = control(standin, f"pay/{session.id}", {"card": "4242424242424242"})

    assert status == 200
    assert body["redirect_url"].endswith(session.id)
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert done.payment_status == "paid"
    assert done.customer is None
    assert done.customer_details.email == "guest@example.com"
    assert done.payment_intent.amount_received == 9000
    assert done.payment_intent.metadata.to_dict() == {"order": "o-1"}
    status, body = control(standin, f"pay/{session.id}", {"card": "4242424242424242"})
    assert status == 400
    assert standin.wait_for_webhooks()
    event = receiver.of_type("checkout.session.completed")[0]
    assert event.data.object.metadata.to_dict() == {"order": "o-1"}


def test_expired_session_cannot_be_paid(
    client: stripe.StripeClient, standin: StandinServer
) -> None:
    session = subscription_session(client)

    expired = client.v1.checkout.sessions.expire(session.id)

    assert (expired.status, expired.url) == ("expired", None)
    status, body = control(standin, f"pay/{session.id}", {"card": "4242424242424242"})
    assert status == 400
    assert "expired" in body["error"]["message"]


def test_refunds_update_the_charge_and_fire_charge_refunded(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 3000,
                        "product_data": {"name": "Workshop"},
                    }
                }
            ],
            "success_url": SUCCESS_URL,
        }
    )
    payment_intent = standin.pay(session.id)["payment_intent"]

    client.v1.refunds.create(params={"payment_intent": payment_intent, "amount": 1000})
    charge_id = client.v1.payment_intents.retrieve(payment_intent).latest_charge
    partly = client.v1.charges.retrieve(charge_id)
    refund = client.v1.refunds.create(params={"charge": charge_id})
    fully = client.v1.charges.retrieve(charge_id, params={"expand": ["refunds"]})

    assert (partly.amount_refunded, partly.refunded) == (1000, False)
    assert refund.amount == 2000
    assert (fully.amount_refunded, fully.refunded) == (3000, True)
    assert len(fully.refunds.data) == 2
    with pytest.raises(stripe.InvalidRequestError, match="already been refunded"):
        client.v1.refunds.create(params={"charge": charge_id})
    assert standin.wait_for_webhooks()
    refunded = receiver.of_type("charge.refunded")
    assert [e.data.object.amount_refunded for e in refunded] == [1000, 3000]


# -- after the checkout --------------------------------------------------------------------------


def portal_configuration(client: stripe.StripeClient, **features: Any) -> str:
    """A portal configuration with card changes and period-end cancels (or `features`)."""
    wanted = features or {
        "payment_method_update": {"enabled": True},
        "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
    }
    return client.v1.billing_portal.configurations.create(params={"features": wanted}).id


def test_a_new_account_has_no_default_portal_and_a_portal_allows_only_its_features(
    client: stripe.StripeClient, standin: StandinServer
) -> None:
    sub = subscribe(client, standin)
    with pytest.raises(stripe.InvalidRequestError, match="default configuration"):
        client.v1.billing_portal.sessions.create(params={"customer": sub.customer})
    plain = portal_configuration(client, invoice_history={"enabled": True})
    listed = client.v1.billing_portal.configurations.list(params={"active": True}).data
    assert [(c.id, c.is_default) for c in listed] == [(plain, False)]
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": sub.customer, "configuration": plain}
    )

    status, page, _ = browser_post(f"{portal.url}/subscriptions/{sub.id}/cancel", {})

    assert (status, "does not allow" in page) == (400, True)
    assert client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end is False


def test_portal_cancels_at_period_end_and_resumes(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    sub = subscribe(client, standin)
    portal = client.v1.billing_portal.sessions.create(
        params={
            "customer": sub.customer,
            "return_url": "http://127.0.0.1:9/account",
            "configuration": portal_configuration(client),
        }
    )
    status, page, _ = get(portal.url)
    assert b"Full membership" in page
    assert b"http://127.0.0.1:9/account" in page

    status, _, location = browser_post(f"{portal.url}/subscriptions/{sub.id}/cancel", {})

    assert status == 303
    canceled = client.v1.subscriptions.retrieve(sub.id)
    assert canceled.cancel_at_period_end is True
    assert canceled.cancel_at == canceled["items"].data[0].current_period_end
    assert b"Renew subscription" in get(standin.url + location)[1]
    browser_post(f"{portal.url}/subscriptions/{sub.id}/resume", {})
    assert client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end is False
    assert standin.wait_for_webhooks()
    updates = [
        e.data.previous_attributes.to_dict()
        for e in receiver.of_type("customer.subscription.updated")
        if "cancel_at_period_end" in e.data.previous_attributes
    ]
    assert [u["cancel_at_period_end"] for u in updates] == [False, True]


def test_subscription_update_price_and_cancel(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    sub = subscribe(client, standin)
    reduced = client.v1.prices.create(
        params={
            "product": sub["items"].data[0].price.product,
            "currency": "usd",
            "unit_amount": 6000,
            "recurring": {"interval": "year"},
        }
    )

    changed = client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": sub["items"].data[0].id, "price": reduced.id}]}
    )
    canceled = client.v1.subscriptions.cancel(sub.id)

    assert changed["items"].data[0].price.id == reduced.id
    assert canceled.status == "canceled"
    assert client.v1.subscriptions.list(params={"customer": sub.customer}).data == []
    assert standin.wait_for_webhooks()
    assert receiver.of_type("customer.subscription.deleted")[0].data.object.id == sub.id


def test_advance_renews_for_another_year(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    sub = subscribe(client, standin)
    first_end = sub["items"].data[0].current_period_end
    assert standin.wait_for_webhooks()
    joined = len(receiver.events)

    status, renewed = control(standin, "advance", {"subscription": sub.id})

    assert status == 200
    assert renewed["status"] == "active"
    assert renewed["items"]["data"][0]["current_period_start"] == first_end
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert [(i.billing_reason, i.status) for i in invoices] == [
        ("subscription_cycle", "paid"),
        ("subscription_create", "paid"),
    ]
    assert standin.wait_for_webhooks()
    assert receiver.of_type("invoice.paid")[-1].data.object.id == invoices[0].id
    # As at Stripe: a draft for the new period; an hour later it is finalized and charged.
    renewal = receiver.types()[joined:]
    assert [t for t in renewal if not t.startswith(("payment_intent.", "charge."))] == [
        "invoice.created",
        "customer.subscription.updated",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]


def test_failed_renewal_goes_past_due_then_recovers(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    sub = subscribe(client, standin)

    status, failed = control(standin, "advance", {"subscription": sub.id, "fail": True})

    assert (status, failed["status"]) == (200, "past_due")
    open_invoice = client.v1.invoices.retrieve(failed["latest_invoice"])
    assert open_invoice.status == "open"
    assert standin.wait_for_webhooks()
    assert receiver.of_type("invoice.payment_failed")[0].data.object.id == open_invoice.id
    paid = client.v1.invoices.pay(open_invoice.id)
    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_card_that_fails_later_raises_card_error_on_invoice_pay(
    client: stripe.StripeClient, standin: StandinServer
) -> None:
    sub = subscribe(client, standin)
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": sub.customer, "configuration": portal_configuration(client)}
    )
    status, _, _ = browser_post(f"{portal.url}/card", {"card": "4000000000000341", "exp": "1/40"})
    assert status == 303

    past_due = standin.advance(sub.id)

    assert past_due["status"] == "past_due"
    with pytest.raises(stripe.CardError) as declined:
        client.v1.invoices.pay(past_due["latest_invoice"])
    assert declined.value.http_status == 402
    assert declined.value.code == "card_declined"


def test_advance_with_cancel_ends_the_subscription(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    sub = subscribe(client, standin)

    ended = standin.advance(sub.id, cancel=True)

    assert ended["status"] == "canceled"
    assert ended["ended_at"] == sub["items"].data[0].current_period_end
    assert standin.wait_for_webhooks()
    assert receiver.types()[-1] == "customer.subscription.deleted"


# -- webhook delivery ----------------------------------------------------------------------------


def test_duplicate_switch_sends_the_next_actions_events_twice(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    control(standin, "delivery", {"duplicate": True})

    client.v1.customers.create(params={"email": "twice@example.com"})
    client.v1.customers.create(params={"email": "once@example.com"})

    assert standin.wait_for_webhooks()
    emails = [e.data.object.email for e in receiver.of_type("customer.created")]
    assert emails == ["twice@example.com", "twice@example.com", "once@example.com"]
    first, second = receiver.of_type("customer.created")[:2]
    assert first.id == second.id


def test_reverse_switch_delivers_an_actions_events_backwards(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    session = subscription_session(client)
    assert standin.wait_for_webhooks()
    receiver.events.clear()
    standin.set_delivery(order="reverse")

    standin.pay(session.id)

    assert standin.wait_for_webhooks()
    happened = [e["id"] for e in standin.events()][-len(receiver.events) :]
    assert [e.id for e in receiver.events] == happened[::-1]
    assert receiver.types()[0] == "checkout.session.completed"


def test_shuffle_switch_changes_the_order(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    session = subscription_session(client)
    assert standin.wait_for_webhooks()
    receiver.events.clear()
    control(standin, "delivery", {"order": "shuffle"})

    standin.pay(session.id)

    assert standin.wait_for_webhooks()
    happened = [e["id"] for e in standin.events()][-len(receiver.events) :]
    assert sorted(e.id for e in receiver.events) == sorted(happened)
    assert [e.id for e in receiver.events] != happened


def test_resend_delivers_a_stored_event_again(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    client.v1.customers.create(params={"email": "again@example.com"})
    assert standin.wait_for_webhooks()
    event = client.v1.events.list(params={"type": "customer.created"}).data[0]

    status, _ = control(standin, f"resend/{event.id}")

    assert status == 200
    assert standin.wait_for_webhooks()
    assert [e.id for e in receiver.of_type("customer.created")] == [event.id, event.id]
    assert client.v1.events.retrieve(event.id).data.object.email == "again@example.com"


def test_failed_delivery_is_retried(
    client: stripe.StripeClient, standin: StandinServer, receiver: Receiver
) -> None:
    receiver.statuses.extend([500, 503])

    client.v1.customers.create(params={"email": "retry@example.com"})

    assert standin.wait_for_webhooks()
    assert receiver.types() == ["customer.created"]
    attempts = standin.events("customer.created")[0]["deliveries"]
    assert [a["status"] for a in attempts] == [500, 503, 200]


def test_state_survives_a_restart_with_a_data_file(tmp_path: Any) -> None:
    data = str(tmp_path / "standin.sqlite3")
    with StandinServer(port=0, data=data) as first:
        api = stripe.StripeClient("sk_test_x", base_addresses={"api": first.url})
        customer = api.v1.customers.create(params={"email": "kept@example.com"})

    with StandinServer(port=0, data=data) as second:
        api = stripe.StripeClient("sk_test_x", base_addresses={"api": second.url})
        assert api.v1.customers.retrieve(customer.id).email == "kept@example.com"


def test_control_endpoints_list_events_wait_and_reset(
    client: stripe.StripeClient, standin: StandinServer
) -> None:
    client.v1.customers.create(params={"email": "listed@example.com"})

    assert control(standin, "wait", {"timeout": 5}) == (200, {"idle": True})
    with urllib.request.urlopen(f"{standin.url}/_standin/events") as resp:  # noqa: S310
        listed = json.loads(resp.read())["data"]
    assert [e["type"] for e in listed] == ["customer.created"]
    assert listed[0]["deliveries"][0]["status"] == 200

    assert control(standin, "reset") == (200, {"reset": True})
    assert client.v1.customers.list().data == []
    assert client.v1.events.list().data == []


# -- where the stand-in stopped flattering us ------------------------------------------------------


def test_an_api_version_the_stand_in_cannot_speak_is_refused(standin: StandinServer) -> None:
    def client_at(version: str) -> stripe.StripeClient:
        return stripe.StripeClient(
            "sk_test_standin",
            stripe_version=version,
            base_addresses={"api": standin.url},
            max_network_retries=0,
        )

    with pytest.raises(stripe.InvalidRequestError, match="only speaks API version"):
        client_at("2024-06-20").v1.customers.create(params={"email": "old@example.com"})
    with pytest.raises(stripe.InvalidRequestError, match="Invalid Stripe API version: v1"):
        client_at("v1").v1.customers.list()
    response = client_at("2026-10-28.endive").raw_request("get", "/v1/customers")
    assert {k.lower(): v for k, v in response.headers.items()}["stripe-version"] == (
        "2026-10-28.endive"
    )
    assert standin.store.all("customer") == []  # the refused create changed nothing


def test_an_idempotency_key_keeps_its_first_answer_for_24_hours_errors_included(
    client: stripe.StripeClient, standin: StandinServer
) -> None:
    params = {
        "mode": "subscription",
        "customer": "cus_notyet",
        "line_items": [{"price": "price_notyet", "quantity": 1}],
        "success_url": SUCCESS_URL,
    }
    with pytest.raises(stripe.InvalidRequestError) as first:
        client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "join-9"})
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "join-9"})
    assert again.value.user_message == first.value.user_message
    assert again.value.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(
            params={**params, "client_reference_id": "9"}, options={"idempotency_key": "join-9"}
        )

    standin.clock_advance(24 * 3600 + 1)  # Stripe forgets the key after 24 hours

    with pytest.raises(stripe.InvalidRequestError) as later:
        client.v1.checkout.sessions.create(
            params={**params, "client_reference_id": "9"}, options={"idempotency_key": "join-9"}
        )
    assert "Idempotent-Replayed" not in later.value.headers


def test_checkout_is_a_hosted_page(client: stripe.StripeClient) -> None:
    price = yearly_price(client)

    def session(**extra: Any) -> stripe.checkout.Session:
        return client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "line_items": [{"price": price.id, "quantity": 1}],
                "success_url": SUCCESS_URL,
                **extra,
            }
        )

    assert session(ui_mode="hosted_page").ui_mode == session().ui_mode == "hosted_page"
    with pytest.raises(stripe.InvalidRequestError, match="Invalid ui_mode"):
        session(ui_mode="hosted")
    with pytest.raises(stripe.InvalidRequestError, match="hosted page only"):
        session(ui_mode="embedded_page")


def test_a_renewal_is_a_draft_for_an_hour_then_finalized_and_charged(
    client: stripe.StripeClient, standin: StandinServer
) -> None:
    sub = subscribe(client, standin)

    renewing = standin.advance(sub.id, settle=False)

    draft = client.v1.invoices.retrieve(renewing["latest_invoice"])
    assert (renewing["status"], draft.status, draft.number) == ("active", "draft", None)
    assert draft.automatically_finalizes_at == draft.created + 3600
    # The stand-in's clock runs with the real one, which may have ticked since the draft was
    # made: move it to one second before the hour, counted from the draft.
    standin.clock_advance(draft.created + 3599 - standin.clock_advance(0))
    assert client.v1.invoices.retrieve(draft.id).status == "draft"
    standin.clock_advance(1)
    charged = client.v1.invoices.retrieve(draft.id)
    assert (charged.status, charged.billing_reason) == ("paid", "subscription_cycle")
    assert charged.number and charged.status_transitions.finalized_at == draft.created + 3600


def _card_that_fails_later(client: stripe.StripeClient, sub: stripe.Subscription) -> None:
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": sub.customer, "configuration": portal_configuration(client)}
    )
    status, _, _ = browser_post(f"{portal.url}/card", {"card": "4000000000000341", "exp": "1/40"})
    assert status == 303


@pytest.mark.parametrize(
    ("setting", "status", "reason"),
    [("cancel", "canceled", "payment_failed"), ("unpaid", "unpaid", None)],
)
def test_retries_of_a_failed_renewal_end_as_the_account_says(
    client: stripe.StripeClient,
    standin: StandinServer,
    receiver: Receiver,
    setting: str,
    status: str,
    reason: str | None,
) -> None:
    standin.failed_payments = setting
    sub = subscribe(client, standin)
    _card_that_fails_later(client, sub)

    failed = standin.advance(sub.id)
    invoice = client.v1.invoices.retrieve(failed["latest_invoice"])
    assert (failed["status"], invoice.attempt_count) == ("past_due", 1)
    for days in (3, 5):  # the retries before the last
        assert invoice.next_payment_attempt is not None
        standin.clock_advance(days * 86400)
        invoice = client.v1.invoices.retrieve(invoice.id)
        assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    standin.clock_advance(7 * 86400)  # the last retry fails too

    ended = client.v1.subscriptions.retrieve(sub.id)
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert (ended.status, ended.cancellation_details.reason) == (status, reason)
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == (
        "open",
        4,
        None,
    )
    assert standin.wait_for_webhooks()
    assert len(receiver.of_type("invoice.payment_failed")) == 4
