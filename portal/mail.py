"""The one way the portal writes mail.

`render_email` turns a template pair, `templates/<app>/email/<name>.txt` and `.html`, into a
multipart message in the site's look. Apps call it from their Celery tasks, never from a
request, and keep their own ledger of what was sent so a retried task sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.loader import get_template, render_to_string


def render_email(
    *,
    template: str,
    subject: str,
    to: Sequence[str],
    context: dict | None = None,
    from_email: str | None = None,
    reply_to: Sequence[str] | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """Render `<template>.txt` and `<template>.html` into one message ready to send.

    `template` is a path without extension, e.g. "membership/email/welcome". The HTML part
    extends `portal/email/base.html`, whose styles are written inline because most mail
    clients drop <style> blocks. Raises TemplateDoesNotExist when either part is missing.
    """
    ctx = {
        "site_url": settings.SITE_URL,
        "site_name": settings.WAGTAIL_SITE_NAME,
        "association_name": settings.ASSOCIATION_NAME,
        "subject": subject,
    }
    ctx.update(context or {})
    # The text part is plain text, not HTML: escaping would put "&#x27;" where an apostrophe
    # goes. Nothing in it is ever interpreted as markup, so it renders without autoescape.
    text = get_template(f"{template}.txt").template.render(Context(ctx, autoescape=False))
    html = render_to_string(f"{template}.html", ctx)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        reply_to=list(reply_to) if reply_to else None,
        headers=headers or {},
    )
    message.attach_alternative(html, "text/html")
    return message
