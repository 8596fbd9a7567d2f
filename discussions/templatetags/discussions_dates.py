"""Dates as people say them in a conversation: "12:52 PM" today, "Yesterday, 12:52 PM",
"Nov 21, 12:52 PM" this year, "Nov 21, 2025" before that. The exact moment stays in the
<time datetime> attribute and its title."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


def _time(value: dt.datetime) -> str:
    return date_format(value, "g:i A")


@register.filter
def human_date(value, now=None):
    """`value` (an aware datetime) relative to today, in the site's time zone."""
    if not value:
        return ""
    if not isinstance(value, dt.datetime):
        return date_format(value, "M j, Y")
    value = timezone.localtime(value)
    today = timezone.localtime(now).date() if now else timezone.localdate()
    day = value.date()
    if day == today:
        return f"Today, {_time(value)}"
    if day == today - dt.timedelta(days=1):
        return f"Yesterday, {_time(value)}"
    if day.year == today.year:
        return f"{date_format(value, 'M j')}, {_time(value)}"
    return date_format(value, "M j, Y")


@register.filter
def full_date(value) -> str:
    """The exact moment, for a tooltip: "Nov 21, 2026, 12:52 PM"."""
    if not value:
        return ""
    value = timezone.localtime(value) if isinstance(value, dt.datetime) else value
    return date_format(value, "M j, Y, g:i A")
