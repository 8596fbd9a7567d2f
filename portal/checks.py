"""Deploy checks of our own: `manage.py check --deploy` names every laptop default that must not
reach a server. Production settings refuse most of these at start-up already; the checks also
cover any other settings module a server might be started with, and say what to set."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.dummy.DummyCache",
)
LOCAL_MAIL = (
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
)
LOCAL_BROKERS = ("filesystem://", "memory://")


@register(Tags.security, deploy=True)
def check_production_services(app_configs=None, **kwargs):
    errors = []
    if settings.STRIPE_SECRET_KEY.endswith("_standin"):
        errors.append(
            Error(
                "STRIPE_SECRET_KEY is the local Stripe stand-in's public key.",
                hint="Set STRIPE_SECRET_KEY to the account's secret key (sk_live_ or sk_test_).",
                id="portal.E001",
            )
        )
    if settings.STRIPE_WEBHOOK_SECRET.endswith("_standin") or not settings.STRIPE_WEBHOOK_SECRET:
        errors.append(
            Error(
                "STRIPE_WEBHOOK_SECRET is the stand-in's public secret: anyone can forge webhooks.",
                hint="Set it to the signing secret of the /stripe/webhook/ endpoint.",
                id="portal.E002",
            )
        )
    if not settings.STRIPE_API_BASE.startswith("https://"):
        errors.append(
            Error(
                "STRIPE_API_BASE is not an https:// address.",
                hint="Leave STRIPE_API_BASE unset in production.",
                id="portal.E003",
            )
        )
    if settings.CACHES["default"]["BACKEND"] in LOCAL_CACHES:
        errors.append(
            Error(
                "The cache is local to one machine: sessions, rate limits and the page cache's "
                "generation are not shared between processes.",
                hint="Set REDIS_URL.",
                id="portal.E004",
            )
        )
    if not settings.STAFF_MFA_REQUIRED:
        errors.append(
            Error(
                "STAFF_MFA_REQUIRED is off: staff reach the admin with a password alone.",
                hint="Remove STAFF_MFA_REQUIRED=false from the environment.",
                id="portal.E005",
            )
        )
    if settings.CELERY_BROKER_URL.startswith(LOCAL_BROKERS):
        errors.append(
            Error(
                "The Celery broker is local to one machine.",
                hint="Set CELERY_BROKER_URL to Redis or RabbitMQ.",
                id="portal.E006",
            )
        )
    if settings.EMAIL_BACKEND in LOCAL_MAIL:
        errors.append(
            Error(
                "Mail is kept on this machine, not sent.",
                hint="Set EMAIL_URL to the SMTP relay, e.g. smtp+tls://user:pass@relay:587.",
                id="portal.E007",
            )
        )
    if settings.DEMO_MODE:
        errors.append(
            Error(
                "DEMO_MODE is on: `load_demo` may create accounts with published passwords.",
                hint="Set DEMO_MODE=false.",
                id="portal.E008",
            )
        )
    if not settings.SITE_URL.startswith("https://"):
        errors.append(
            Warning(
                "SITE_URL is not an https:// address: links in mail and the admin use it.",
                hint="Set SITE_URL to the portal's public https:// address.",
                id="portal.W009",
            )
        )
    return errors
