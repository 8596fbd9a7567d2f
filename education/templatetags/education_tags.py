"""The hook conferences' ticket page uses to show credit (a template tag, so conferences
imports nothing of education): self check-in, evaluations, the certificate."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("education/_ticket_panel.html")
def ce_ticket_panel(attendee, token):
    from education import selectors

    return {**selectors.ticket_panel(attendee), "attendee": attendee, "token": token}
