"""Money as the documents print it."""

from __future__ import annotations

from django import template

from ..models import format_money

register = template.Library()


@register.filter
def cents(value: int | None, currency: str = "usd") -> str:
    return format_money(int(value or 0), currency or "usd")
