"""A local stand-in for Stripe that the official stripe-python library can talk to.

Development and test tooling only: it serves the ``/v1`` endpoints Guildhall uses, hosted
Checkout, billing portal and invoice pages, and signed webhooks, so the payment flow runs
offline. Point stripe-python at it with ``base_addresses={"api": server.url}`` (or
``stripe.api_base``) and any ``sk_test_`` key. See ``python -m devtools.stripe_standin --help``.
"""

from .engine import StripeError
from .objects import API_VERSION
from .server import StandinServer
from .webhooks import sign

__all__ = ["API_VERSION", "StandinServer", "StripeError", "sign"]
