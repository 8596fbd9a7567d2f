"""Production settings: secrets have no default, so a missing one stops the start-up, and the
laptop's stand-ins (files for mail, broker and cache, the Stripe stand-in's public keys, staff
without a second factor) are refused. `check --deploy` names them too (portal/checks.py)."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
DEMO_MODE = False

SECRET_KEY = env.str("SECRET_KEY")
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be a random string of 50 characters or more.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])  # noqa: F405

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Hashed, compressed static files served by WhiteNoise (or the proxy in front of it).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    "attachments": ATTACHMENTS_STORAGE,  # noqa: F405
    "library": LIBRARY_STORAGE,  # noqa: F405
}
# Postfix hands mail over from loopback: only its Authentication-Results header counts.
DISCUSSIONS_TRUST_LOOPBACK = False
# A laptop's filesystem broker and local-memory cache are not for several machines.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
if CELERY_BROKER_URL.startswith("filesystem://"):
    raise ImproperlyConfigured("CELERY_BROKER_URL must name Redis or RabbitMQ in production.")
EMAIL_URL = env.str("EMAIL_URL")
if EMAIL_URL.startswith("filemail://"):
    raise ImproperlyConfigured("EMAIL_URL must name an SMTP relay in production.")
vars().update(env.email_url_config(EMAIL_URL))
# Every process must see the same cache: sessions, the page cache's generation, rate limits.
REDIS_URL = env.str("REDIS_URL")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must name the Redis server the processes share.")

# Stripe: the stand-in's keys are public (they are in this repository), so a server started
# with them would accept anybody's forged webhooks and take no money.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY")
if STRIPE_SECRET_KEY.endswith("_standin") or not STRIPE_SECRET_KEY.startswith(("sk_", "rk_")):
    raise ImproperlyConfigured("STRIPE_SECRET_KEY must be a Stripe secret key in production.")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET")
if STRIPE_WEBHOOK_SECRET.endswith("_standin") or not STRIPE_WEBHOOK_SECRET.startswith("whsec_"):
    raise ImproperlyConfigured(
        "STRIPE_WEBHOOK_SECRET must be the signing secret of the /stripe/webhook/ endpoint."
    )
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
if not STRIPE_API_BASE.startswith("https://"):
    raise ImproperlyConfigured("STRIPE_API_BASE must be an https:// address in production.")

# Staff reach members' records and money; the second factor is not optional here.
if not STAFF_MFA_REQUIRED:  # noqa: F405
    raise ImproperlyConfigured("STAFF_MFA_REQUIRED cannot be turned off in production.")
