"""Signed webhook delivery from a background thread, with retries and test switches.

Signatures follow https://docs.stripe.com/webhooks#verify-manually: ``t=<unix>,v1=<hex>``
where ``v1`` is HMAC-SHA256 over ``"<t>.<payload>"`` keyed by the endpoint secret, so
``stripe.Webhook.construct_event`` accepts what we send.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from .store import Store

Obj = dict[str, Any]

DEFAULT_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for a payload."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class WebhookSender:
    """Posts events to one endpoint; a failed attempt is retried without holding up others."""

    def __init__(
        self,
        store: Store,
        *,
        url: str | None,
        secret: str | None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout: float = 5.0,
    ) -> None:
        self.store = store
        self.url = url
        self.secret = secret or ""
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.log: list[Obj] = []
        self._mode: Obj = {"duplicate": False, "order": "normal", "actions": 0}
        self._heap: list[tuple[float, int, str, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._outstanding = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- switches ------------------------------------------------------------------------------

    def set_mode(self, *, duplicate: bool, order: str, actions: int) -> Obj:
        """Apply to the events of the next ``actions`` actions (-1: until reset)."""
        if order not in {"normal", "reverse", "shuffle"}:
            raise ValueError("order must be normal, reverse or shuffle")
        with self._cond:
            self._mode = {"duplicate": duplicate, "order": order, "actions": actions}
            return dict(self._mode)

    def mode(self) -> Obj:
        with self._cond:
            return dict(self._mode)

    # -- queueing ------------------------------------------------------------------------------

    def submit(self, events: list[Obj]) -> None:
        """Queue the committed events of one action, applying the switches if armed."""
        ids = [event["id"] for event in events]
        with self._cond:
            mode = self._mode
            if mode["actions"] != 0:
                if mode["order"] == "reverse":
                    ids.reverse()
                elif mode["order"] == "shuffle" and len(set(ids)) > 1:
                    original = list(ids)
                    while ids == original:
                        secrets.SystemRandom().shuffle(ids)
                if mode["duplicate"]:
                    ids = [event_id for event_id in ids for _ in range(2)]
                if mode["actions"] > 0:
                    mode["actions"] -= 1
            for event_id in ids:
                self._push(event_id, attempt=0, delay=0.0)

    def resend(self, event_id: str) -> None:
        with self._cond:
            self._push(event_id, attempt=0, delay=0.0)

    def _push(self, event_id: str, *, attempt: int, delay: float) -> None:
        if not self.url:
            return
        if attempt == 0:
            self._outstanding += 1
        heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), event_id, attempt))
        self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued event was delivered or given up on."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._outstanding:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self._outstanding = 0
            self.log.clear()
            self._mode = {"duplicate": False, "order": "normal", "actions": 0}
            self._cond.notify_all()

    # -- worker --------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="stripe-standin-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=5)

    def requeue_undelivered(self) -> None:
        """After a restart, send what an earlier run had not delivered yet.

        Like Stripe, give up on events older than three days.
        """
        cutoff = time.time() - 3 * 86400
        for event in reversed(self.store.all("event")):
            if event.get("pending_webhooks") and event["created"] > cutoff:
                with self._cond:
                    self._push(event["id"], attempt=0, delay=0.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (
                    not self._heap or self._heap[0][0] > time.monotonic()
                ):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                _, _, event_id, attempt = heapq.heappop(self._heap)
            delivered = self._attempt(event_id, attempt)
            with self._cond:
                if not delivered and attempt < len(self.retry_delays):
                    self._push(event_id, attempt=attempt + 1, delay=self.retry_delays[attempt])
                else:
                    self._outstanding = max(0, self._outstanding - 1)
                    self._cond.notify_all()

    def _attempt(self, event_id: str, attempt: int) -> bool:
        event = self.store.get(event_id)
        url = self.url
        if event is None or not url:
            return True
        payload = json.dumps({k: v for k, v in event.items() if not k.startswith("_")}, indent=2)
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured endpoint
            url,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(payload, self.secret),
            },
        )
        status: int | None = None
        error = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, exc.reason
        except (OSError, TimeoutError) as exc:
            error = str(exc)
        ok = status is not None and 200 <= status < 300
        record = {
            "event": event_id,
            "type": event["type"],
            "attempt": attempt + 1,
            "at": time.time(),
            "status": status,
            "error": None if ok else str(error or status),
        }
        with self.store.transaction():
            fresh = self.store.get(event_id)
            if fresh is not None:
                fresh.setdefault("_deliveries", []).append(record)
                if ok or attempt >= len(self.retry_delays):
                    fresh["pending_webhooks"] = 0
                self.store.put(fresh)
        with self._cond:
            self.log.append(record)
        return ok
