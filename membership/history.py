"""A membership's history in a member's words.

The history rows keep the reasons staff need (Stripe's ids, its status codes, ISO dates); the
account page shows the member the same events without any of that: no cus_/sub_/in_/pi_ ids,
statuses in plain words, dates in the site's one format.
"""

from __future__ import annotations

import datetime
import re

from django.utils.formats import date_format

# Stripe's object ids: a short lowercase prefix, an underscore, then letters and digits
# (cus_, sub_, in_, pi_, ch_, cs_test_, price_, prod_, evt_, re_, pm_, seti_, ii_, il_, si_...).
STRIPE_ID = re.compile(r"\b(?:[a-z]{2,6}_)+(?:test_|live_)?[A-Za-z0-9]{6,}\b")
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
STATUS_WORDS = {
    "past_due": "overdue",
    "unpaid": "unpaid",
    "incomplete": "waiting for payment",
    "incomplete_expired": "expired before payment",
    "canceled": "canceled",
    "active": "active",
    "trialing": "in its trial",
    "paused": "paused",
}


def _date(match: re.Match) -> str:
    try:
        day = datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return match[0]
    return date_format(day)


def member_reason(reason: str) -> str:
    """The history reason with Stripe's ids and codes taken out, ready to show a member."""
    text = re.sub(r"\bStripe subscription\b", "subscription", reason or "")
    text = STRIPE_ID.sub("", text)
    text = re.sub(r"\b(invoice|subscription|payment)\s+(?=\)|$|\s)", r"\1 ", text)
    for code, words in STATUS_WORDS.items():
        text = re.sub(rf"\bis {code}\b", f"is {words}", text)
    # "(subscription  is overdue)" or "(invoice )": a parenthesis left with only the noun.
    text = re.sub(r"\(\s*(?:invoice|subscription|payment)?\s*\)", "", text)
    text = ISO_DATE.sub(_date, text)
    text = re.sub(r"\s{2,}", " ", text).strip(" :;,")
    return text[:1].upper() + text[1:]
