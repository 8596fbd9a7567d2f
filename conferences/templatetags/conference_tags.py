from django import template

from conferences.models import format_cents

register = template.Library()


@register.filter
def money(cents) -> str:
    """Cents as dollars: 49500 -> "$495.00"."""
    return format_cents(int(cents or 0))
