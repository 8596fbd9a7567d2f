"""allauth adapters: account mail goes out through Celery, invitations pre-verify an email."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.adapter import context as allauth_context
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.urls import reverse

from .tasks import send_account_mail


def user_display(user) -> str:
    """How allauth names a person (ACCOUNT_USER_DISPLAY): her name, else her email address;
    never the username allauth derived from the address."""
    return user.get_full_name() or user.email


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render in the request (allauth needs it for links), send from a worker."""
        request = allauth_context.request
        ctx = {
            "request": request,
            "email": email,
            "current_site": get_current_site(request),
            "site_name": settings.WAGTAIL_SITE_NAME,
            "association_name": settings.ASSOCIATION_NAME,
            "site_url": settings.SITE_URL,
        }
        ctx.update(context)
        msg = self.render_mail(template_prefix, email, ctx)
        html = next(
            (
                content
                for content, mimetype in getattr(msg, "alternatives", [])
                if mimetype == "text/html"
            ),
            "",
        )
        args = (msg.subject, msg.body, html, msg.from_email, list(msg.to), dict(msg.extra_headers))
        transaction.on_commit(lambda: send_account_mail.delay(*args))

    def get_signup_redirect_url(self, request) -> str:
        return reverse("membership:join")

    def get_email_verification_redirect_url(self, email_address) -> str:
        return reverse("membership:join")
