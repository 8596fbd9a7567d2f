"""The Stripe webhook endpoint: verify, store once, answer fast; a task applies the event."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import gateway, services

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """400 and no change for a bad signature, a timestamp outside the tolerance or a body not
    shaped like an event; 200 for a stored event or a duplicate (Stripe stops resending), so
    the reply never waits on the work."""
    try:
        event = gateway.construct_event(request.body, request.headers.get("Stripe-Signature"))
    except gateway.InvalidSignature as exc:
        log.warning("rejected a Stripe webhook: %s", exc)
        return HttpResponseBadRequest("invalid signature")
    except gateway.InvalidEvent as exc:
        log.warning("rejected a signed Stripe webhook: %s", exc)
        return HttpResponseBadRequest("malformed event")
    created = services.stripe_event_store(event)
    return HttpResponse("stored" if created else "duplicate", content_type="text/plain")
