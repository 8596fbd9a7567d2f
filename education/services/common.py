"""What the education services share."""

from __future__ import annotations


class Refusal(Exception):
    """A request the rules turn down; the message says why, in words for the person."""
