"""What mail templates rendered outside portal.mail (Wagtail's moderation notices) need to
look like the rest of the portal's mail: the site's names and address from settings."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def mail_identity() -> dict[str, str]:
    return {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "association_name": settings.ASSOCIATION_NAME,
        "site_url": settings.SITE_URL,
    }
