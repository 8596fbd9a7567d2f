from django.conf import settings

from .cache import content_generation, may_use_admin


def site(request):
    """Values every page template needs. The last two are callables, so a template pays for
    them only where it uses them: the content generation versions cached fragments of the
    site's chrome, and only people who may use the admin get Wagtail's user bar."""
    user = getattr(request, "user", None)
    return {
        "SITE_NAME": settings.WAGTAIL_SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "content_version": content_generation,
        "may_use_admin": lambda: may_use_admin(user),
    }
