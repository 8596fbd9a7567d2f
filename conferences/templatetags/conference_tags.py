import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from conferences.models import format_cents

register = template.Library()

# What mail clients' auto-linkers key on: "http:", "//", "evil.example", "a@b".
_LINK_PUNCTUATION = re.compile(r"([.:/@])")
ZWNJ = "\u200c"


@register.filter
def money(cents) -> str:
    """Cents as dollars: 49500 -> "$495.00"."""
    return format_cents(int(cents or 0))


@register.filter
def unlinked(value) -> str:
    """Text a buyer typed (a name, a practice), for the HTML part of mail that goes to
    someone else: escaped, and with an invisible zero-width non-joiner and a tag boundary
    before every dot, colon, slash and at sign, so that no mail client turns
    "evil.example/pay" into a link that seems to come from us. It reads the same."""
    # Escaped first (entities hold none of the four characters), so the result is safe HTML.
    text = conditional_escape(value)
    return mark_safe(_LINK_PUNCTUATION.sub(f"<span>{ZWNJ}\\1</span>", text))  # noqa: S308


@register.filter
def unlinked_text(value) -> str:
    """The same for the plain-text part, where clients auto-link too: only the invisible
    joiner, no markup (the text part is rendered without HTML escaping)."""
    return _LINK_PUNCTUATION.sub(f"{ZWNJ}\\1", str(value))


@register.simple_tag
def refund_policy(conference) -> list[str]:
    """The conference's cancellation policy in plain words (services.describe_refund_policy)."""
    from conferences.services import describe_refund_policy

    return describe_refund_policy(conference)


@register.filter
def attendee_link(attendee) -> str:
    """The attendee's signed ticket link (tickets.py), for the buyer to pass on."""
    from conferences.tickets import attendee_link as link

    return link(attendee)
