"""The account page's mail choices: `{% consent_choices user as choices %}`."""

from django import template

from .. import consent
from ..models import ConsentCategory

register = template.Library()


@register.simple_tag
def consent_choices(user) -> list[dict]:
    refused = consent.opted_out_by(user)
    return [
        {"value": c.value, "label": c.label, "allowed": c.value not in refused}
        for c in ConsentCategory
    ]
