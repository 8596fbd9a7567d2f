"""Stripe's documented test card numbers and what each one does when charged."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str | None
    message: str
    param: str | None = None


_DECLINED = Decline("card_declined", "generic_decline", "Your card was declined.")

# Numbers from https://docs.stripe.com/testing; any other number that passes Luhn succeeds.
_CHARGE_DECLINES = {
    "4000000000000002": _DECLINED,
    "4000000000009995": Decline(
        "card_declined", "insufficient_funds", "Your card has insufficient funds."
    ),
    "4000000000009987": Decline("card_declined", "lost_card", "Your card was declined."),
    "4000000000009979": Decline("card_declined", "stolen_card", "Your card was declined."),
    "4000000000000069": Decline("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": Decline(
        "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"
    ),
    "4000000000000119": Decline(
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    # Attaches to a customer but fails every charge: the card for testing failed renewals.
    "4000000000000341": _DECLINED,
}
_ATTACH_OK_BUT_CHARGE_FAILS = {"4000000000000341"}


@dataclass(frozen=True)
class Card:
    number: str
    exp_month: int
    exp_year: int

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def brand(self) -> str:
        n = self.number
        if n.startswith("4"):
            return "visa"
        if n[:2] in {"34", "37"}:
            return "amex"
        if n[:2] in {"51", "52", "53", "54", "55"} or "2221" <= n[:4] <= "2720":
            return "mastercard"
        if n.startswith(("6011", "65")):
            return "discover"
        return "unknown"

    def details(self) -> dict[str, object]:
        """The ``card`` hash of a payment method."""
        return {
            "brand": self.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": self.brand,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "fingerprint": hashlib.sha256(self.number.encode()).hexdigest()[:16],
            "funding": "credit",
            "generated_from": None,
            "last4": self.last4,
            "networks": {"available": [self.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        }


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def read_card(number: str, exp: str = "", cvc: str = "") -> Card | Decline:
    """Validate what a customer typed the way Checkout's form does, before any charge."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits:
        return Decline("incomplete_number", None, "Your card number is incomplete.", "number")
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn_ok(digits):
        return Decline("incorrect_number", None, "Your card number is incorrect.", "number")
    month, year = _read_expiry(exp)
    if month is None or year is None:
        return Decline(
            "invalid_expiry_month", None, "Your card's expiration date is incomplete.", "exp"
        )
    today = time.gmtime()
    if (year, month) < (today.tm_year, today.tm_mon):
        return Decline(
            "invalid_expiry_year", None, "Your card's expiration year is in the past.", "exp"
        )
    if cvc and not re.fullmatch(r"\d{3,4}", cvc.strip()):
        return Decline("invalid_cvc", None, "Your card's security code is invalid.", "cvc")
    return Card(digits, month, year)


def _read_expiry(exp: str) -> tuple[int | None, int | None]:
    if not exp or not exp.strip():
        # Scripted payments may leave the expiry out; any future date will do.
        return 12, time.gmtime().tm_year + 5
    m = re.fullmatch(r"\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*", exp)
    if not m:
        return None, None
    month, year = int(m.group(1)), int(m.group(2))
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        return None, None
    return month, year


def charge_decline(number: str) -> Decline | None:
    """Why charging this card fails, or None when it succeeds."""
    return _CHARGE_DECLINES.get(number)


def attach_decline(number: str) -> Decline | None:
    """Why saving this card for later fails (the portal's card update), or None."""
    if number in _ATTACH_OK_BUT_CHARGE_FAILS:
        return None
    return _CHARGE_DECLINES.get(number)
