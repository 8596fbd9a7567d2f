"""Path converters for the portal's own URLs."""

from __future__ import annotations

from django.urls import register_converter


class IdConverter:
    """A database id: digits that fit a 64-bit integer column. Django's `int` takes any run of
    digits, and SQLite raises OverflowError on one past 2**63 instead of finding nothing, so an
    id with more than 18 digits must not reach a view (it matches no URL: a 404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


def register() -> None:
    register_converter(IdConverter, "id")
