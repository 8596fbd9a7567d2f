from email.utils import parseaddr

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .brand import brand_for_request
from .cache import content_generation, may_use_admin


def site(request):
    """Values every page template needs. The association's names come from settings; its look
    (BRAND), the content generation and admin access are computed only where a template uses
    them: the generation versions cached fragments of the site's chrome, and only people who
    may use the admin get Wagtail's user bar."""
    user = getattr(request, "user", None)
    return {
        "SITE_NAME": settings.WAGTAIL_SITE_NAME,
        "ASSOCIATION_NAME": settings.ASSOCIATION_NAME,
        "SITE_EMAIL": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        "SITE_URL": settings.SITE_URL,
        "BRAND": SimpleLazyObject(lambda: brand_for_request(request)),
        "content_version": content_generation,
        "may_use_admin": lambda: may_use_admin(user),
    }
