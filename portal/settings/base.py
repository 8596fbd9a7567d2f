"""Settings shared by every environment.

The environment is read here and only here, each variable once, each with a default that runs
on a laptop with nothing installed: SQLite, a filesystem Celery broker, mail kept as files and
payments against the local Stripe stand-in. `production.py` removes the defaults for secrets.
Every variable is listed, with what it does, in `.env.example` and the README.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# ---------------------------------------------------------------------------------------------
# Environment: every variable the portal reads.
# ---------------------------------------------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-only-key-change-me-in-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'guildhall.sqlite3'}")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
REDIS_URL = env.str("REDIS_URL", default="")
EMAIL_URL = env.str("EMAIL_URL", default="filemail://")
# The association that runs the portal, needed before the database is: in page titles, mail
# senders and subjects, list addresses and the authenticator app's label. What staff edit
# (logo, colours, contact address, social links) is a Wagtail site setting: NavigationSettings.
# `make run` and the tests use the demo association's (portal/settings/demo.py).
ASSOCIATION_NAME = env.str("ASSOCIATION_NAME", default="Guildhall Member Association")
ASSOCIATION_SHORT_NAME = env.str("ASSOCIATION_SHORT_NAME", default="Guildhall")
ASSOCIATION_MAIL_DOMAIN = env.str("ASSOCIATION_MAIL_DOMAIN", default="guildhall.local")
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default=f"{ASSOCIATION_SHORT_NAME} <hello@{ASSOCIATION_MAIL_DOMAIN}>"
)
DEMO_MODE = env.bool("DEMO_MODE", default=False)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_standin")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_standin")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:12111")
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=True)

# ---------------------------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    # Ours first, so our templates win over the libraries'.
    "portal",
    "payments",
    "blog",
    "membership",
    "conferences",
    "discussions",
    "elections",
    "education",
    "announcements",
    "library",
    "courses",
    "csp",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.frontend_cache",
    "wagtail.contrib.redirects",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.table_block",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    # Accounts
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise right after SecurityMiddleware, as its docs require, so static files skip the
    # rest of the stack: https://whitenoise.readthedocs.io/en/stable/django.html
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above the page cache, so replayed pages get today's policy (portal/middleware.py).
    "portal.middleware.ContentSecurityPolicyMiddleware",
    # Replays cached pages to anonymous readers before sessions or routing run (blog/cache.py).
    "blog.cache.AnonymousPageCacheMiddleware",
    # `Cache-Control: private, no-store` on one person's pages; below the page cache, which
    # then never stores them (portal/middleware.py).
    "portal.middleware.PrivateCacheControlMiddleware",
    # Finds the Wagtail site of the request's host without a query (portal/cache.py).
    "portal.cache.CachedSiteMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # A NUL anywhere, or malformed input the admins choke on, gets a 400 (portal/badinput.py).
    "portal.badinput.BadInputMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "membership.middleware.StaffMFAMiddleware",
    # Replays cached pages to signed-in non-members and members, their own parts filled in,
    # without a query; last but the routing, so everything above applies to each response
    # and a hit routes nothing (blog/cache.py).
    "blog.cache.ReaderPageCacheMiddleware",
    # Routes article URLs in one query instead of a walk down the page tree (blog/routing.py).
    "blog.routing.ArticleRouteMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "portal.context_processors.site",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database: DATABASE_URL, e.g. postgres://user@127.0.0.1:5432/guildhall
# ---------------------------------------------------------------------------------------------
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server, the worker and beat share one SQLite file
    # without "database is locked" errors under the light load of a laptop.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------------
# Cache: REDIS_URL; without it, files under var/cache/.
# ---------------------------------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "guildhall",
        }
    }
else:
    # Files, not each process's memory: `make run`'s web server, worker and beat must share
    # the content generation, so that a post the beat job publishes shows on the site at once.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }

# ---------------------------------------------------------------------------------------------
# Celery: https://docs.celeryq.dev/en/stable/userguide/configuration.html
# ---------------------------------------------------------------------------------------------
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# The "mail" queue: every task that sends mail, and the discussions jobs that feed them.
CELERY_TASK_ROUTES = {
    "*.tasks.send_*": {"queue": "mail"},
    "discussions.tasks.deliveries_*": {"queue": "mail"},
    "discussions.tasks.digests_prepare": {"queue": "mail"},
}
# A mail claimed longer ago than this (portal.sendonce) belongs to a worker that died mid-send; the
# next try takes it over and sends. Longer than any one SMTP conversation should take.
MAIL_CLAIM_TIMEOUT = env.int("MAIL_CLAIM_TIMEOUT", default=600)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport needs no server: producers drop messages into a folder that
    # the worker polls. Fine for one laptop, never for production.
    _broker_dir = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(VAR_DIR / "celery")))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Beat schedule. Each app adds its periodic jobs here, with the reason in a comment.
CELERY_BEAT_SCHEDULE = {
    # Elections follow their dates: call for nominations, voter roll at the cut-off, opening
    # mail, reminder, the close and count at the deadline, results. Each step runs once.
    "elections-tick": {"task": "elections.tasks.elections_tick", "schedule": 60.0},
    # Proves the worker consumes jobs; /healthz reports the last beat it wrote.
    "portal-heartbeat": {"task": "portal.tasks.heartbeat", "schedule": 60.0},
    # Membership states follow the clock (grace after a period end, lapse after grace, end of
    # complimentary terms); access itself never waits for this job (see membership.access).
    "membership-advance-states": {
        "task": "membership.tasks.memberships_advance",
        "schedule": 15 * 60.0,
    },
    # Renewal reminders and grace warnings, each sent once (the Notice ledger).
    "membership-reminders": {"task": "membership.tasks.reminders_queue", "schedule": 60 * 60.0},
    # Webhook events stored but not applied (a worker died, Stripe was down) get another go
    # once their backoff delay has passed; parked ones wait for staff.
    "payments-stripe-events-retry": {
        "task": "payments.tasks.stripe_events_retry",
        "schedule": 60.0,
    },
    # Wagtail's go-live/expiry dates, so editors need no cron line.
    "wagtail-publish-scheduled": {"task": "portal.tasks.publish_scheduled", "schedule": 60.0},
    # Continuing education: the evaluation invitation once a session has ended (each sent
    # once), and certificates for conferences whose programme is over (issuing is idempotent,
    # so the hourly run only catches hours earned late, such as a late evaluation).
    "education-evaluations-invite": {
        "task": "education.tasks.evaluations_invite",
        "schedule": 5 * 60.0,
    },
    "education-certificates-issue": {
        "task": "education.tasks.certificates_issue_due",
        "schedule": 60 * 60.0,
    },
    # Conferences: unpaid seat holds lapse after CONFERENCE_HOLD_MINUTES and waitlist offers
    # after CONFERENCE_OFFER_HOURS; checking every minute keeps seats from sitting idle.
    "conferences-release-holds": {
        "task": "conferences.tasks.order_expire_holds",
        "schedule": 60.0,
    },
    "conferences-lapse-offers": {
        "task": "conferences.tasks.waitlist_lapse_offers",
        "schedule": 60.0,
    },
    # Announcements: send what came due (a scheduled time), return stale claims of workers
    # that died mid-send, retry deliveries whose time came, close finished sends.
    "announcements-tick": {"task": "announcements.tasks.announcements_tick", "schedule": 60.0},
    # Discussions: return stale fan-out claims and resend deliveries whose retry time came.
    "discussions-sweep-deliveries": {
        "task": "discussions.tasks.deliveries_sweep",
        "schedule": 60.0,
    },
    # Discussions: digests go out early morning Central time; the weekly one on Mondays.
    "discussions-daily-digest": {
        "task": "discussions.tasks.digests_prepare",
        "schedule": crontab(hour=11, minute=0),
        "args": ("daily",),
    },
    "discussions-weekly-digest": {
        "task": "discussions.tasks.digests_prepare",
        "schedule": crontab(hour=11, minute=30, day_of_week=1),
        "args": ("weekly",),
    },
    # Blog: the weekly roundup of new articles, Monday mornings.
    "blog-weekly-roundup": {
        "task": "blog.tasks.article_roundups_prepare",
        "schedule": crontab(hour=12, minute=0, day_of_week=1),
    },
}

# ---------------------------------------------------------------------------------------------
# Discussions: the email network. See the README's "Discussions" section for Postfix wiring.
# ---------------------------------------------------------------------------------------------
# List addresses are <slug>@LIST_DOMAIN; bounces come back to <slug>-bounces+...@LIST_DOMAIN.
LIST_DOMAIN = env.str("LIST_DOMAIN", default=f"lists.{ASSOCIATION_MAIL_DOMAIN}")
# `manage.py mailserver` listens here: "smtp" on loopback for a laptop, "lmtp" behind Postfix.
MAILSERVER_HOST = env.str("MAILSERVER_HOST", default="127.0.0.1")
MAILSERVER_PORT = env.int("MAILSERVER_PORT", default=8025)
MAILSERVER_MODE = env.str("MAILSERVER_MODE", default="smtp")
# Inbound messages larger than this are refused with 552 before they are stored.
DISCUSSIONS_MAX_MESSAGE_BYTES = env.int("DISCUSSIONS_MAX_MESSAGE_BYTES", default=10 * 1024 * 1024)
# Attachments larger than this are left out of the archive (the post itself is kept).
DISCUSSIONS_MAX_ATTACHMENT_BYTES = env.int("DISCUSSIONS_MAX_ATTACHMENT_BYTES", default=5 << 20)
# Ledger rows one send task claims and delivers over one SMTP connection.
DISCUSSIONS_BATCH_SIZE = env.int("DISCUSSIONS_BATCH_SIZE", default=200)
# Copies of a batch go out this many at a time, one SMTP connection each, moving in step, so
# one ledger write and one wait per step serve the whole group (discussions.smtp.send_group).
DISCUSSIONS_SMTP_CONNECTIONS = env.int("DISCUSSIONS_SMTP_CONNECTIONS", default=10)
# A claim older than this belongs to a worker that died; the sweeper hands it out again.
DISCUSSIONS_CLAIM_TIMEOUT = env.int("DISCUSSIONS_CLAIM_TIMEOUT", default=600)
# A post is trusted to come from its From address only when the Authentication-Results header
# the receiving MTA added on top, under this authserv-id, shows DMARC pass or DKIM/SPF aligned
# with the From domain (discussions/mailauth.py). Empty: no header is trusted, every post by
# mail waits for the member to confirm it from their own mailbox.
DISCUSSIONS_AUTHSERV_ID = env.str("DISCUSSIONS_AUTHSERV_ID", default="")
# Trust mail handed over from a loopback address without that header. Only for `make run`
# (local.py), where the listener has no MTA in front; never in production, where Postfix
# itself connects from loopback.
DISCUSSIONS_TRUST_LOOPBACK = False

# ---------------------------------------------------------------------------------------------
# Conferences: registration holds, waitlist offers and capacity locks (conferences/capacity.py).
# ---------------------------------------------------------------------------------------------
CONFERENCE_HOLD_MINUTES = 30  # seats stay held this long while the buyer pays
CONFERENCE_OFFER_HOURS = 48  # a waitlist offer keeps its seat this long
# How long a checkout waits for the capacity row locks (PostgreSQL lock_timeout) before it
# tells the buyer to try again, instead of hanging behind a crowd.
CONFERENCE_LOCK_TIMEOUT_MS = 3000
# A checkout that finds something sold out notes it in the cache this long, so the crowd
# still clicking is told at once (conferences/capacity.py); a stale note only turns buyers away.
CONFERENCE_SOLD_OUT_MEMO_SECONDS = 2

# ---------------------------------------------------------------------------------------------
# Email: EMAIL_URL, e.g. smtp+tls://user:pass@smtp.example.org:587, or filemail:// (default),
# which keeps each message as a file under var/mail/.
# ---------------------------------------------------------------------------------------------
if EMAIL_URL.startswith("filemail://"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
else:
    vars().update(env.email_url_config(EMAIL_URL))
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------------------------------------
# Accounts (django-allauth): https://docs.allauth.org/en/latest/account/configuration.html
# ---------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Sign-up asks for the person's name (membership.forms.SignupForm), and allauth shows people by
# it ("Welcome back, Dana"), never by the username it derives from the email address.
ACCOUNT_FORMS = {"signup": "membership.forms.SignupForm", "login": "membership.forms.LoginForm"}
ACCOUNT_USER_DISPLAY = "membership.adapters.user_display"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_ADAPTER = "membership.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{ASSOCIATION_SHORT_NAME}] "
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
# Rate limits stay on (allauth's defaults, spelled out so they are visible and tunable):
# https://docs.allauth.org/en/latest/account/rate_limits.html
ACCOUNT_RATE_LIMITS = {
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "confirm_email": "1/180s/key",
}
# Multi-factor authentication: TOTP and recovery codes for everyone, required (set up and used
# in the session) for anyone who may reach a staff area: the Wagtail admin, the Django admin,
# the conference staff pages (membership.access.staff_second_factor, applied by
# membership.middleware.StaffMFAMiddleware; switch: STAFF_MFA_REQUIRED).
# https://docs.allauth.org/en/latest/mfa/configuration.html
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = ASSOCIATION_SHORT_NAME
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"
# One login: allauth's. Wagtail's and Django's own login, password and email forms would skip
# its rate limits, verified addresses and second factor, so Wagtail sends readers of private
# pages and the admin to allauth, hides its password and email forms, and the remaining
# routes are redirected by membership.middleware.StaffMFAMiddleware.
WAGTAILADMIN_LOGIN_URL = "account_login"
WAGTAIL_FRONTEND_LOGIN_URL = "account_login"
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAIL_EMAIL_MANAGEMENT_ENABLED = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---------------------------------------------------------------------------------------------
# Membership and Stripe. With the stand-in's key (the default) the portal talks to the local
# Stripe stand-in at STRIPE_API_BASE (devtools/stripe_standin/); with a real key, to Stripe.
# ---------------------------------------------------------------------------------------------
MEMBERSHIP_GRACE_DAYS = 30  # still a member, warned, after a failed payment or a period end
MEMBERSHIP_RENEWAL_REMINDER_DAYS = (30, 7)  # reminders for members without auto-renew
MEMBERSHIP_GRACE_WARNING_DAYS = 7  # the last warning, this many days before lapsing
# Member imports (membership/services/importing.py): files above this size are refused; an
# upload waits in this private folder (never under MEDIA_ROOT) between upload and import.
MEMBER_IMPORT_MAX_BYTES = env.int("MEMBER_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
MEMBER_IMPORT_DIR = env.path("MEMBER_IMPORT_DIR", default=str(VAR_DIR / "private" / "imports"))
STRIPE_WEBHOOK_TOLERANCE = 300  # seconds a webhook signature's timestamp may be off
# A webhook event whose apply fails is tried again after STRIPE_EVENT_RETRY_SECONDS, then twice
# as long each time (at most 6 hours); after STRIPE_EVENT_MAX_ATTEMPTS tries it is parked as
# failed and listed for staff (Payments > Stripe events) until one of them retries it.
STRIPE_EVENT_MAX_ATTEMPTS = 8
STRIPE_EVENT_RETRY_SECONDS = 60

# ---------------------------------------------------------------------------------------------
# Content-Security-Policy (django-csp): https://django-csp.readthedocs.io/en/latest/configuration.html
# No inline script anywhere: scripts are static files, data for them sits in data- attributes or
# json_script blocks (tests/portal/test_templates.py keeps it so). Inline style attributes are
# allowed (style-src-attr), <style> elements are not. Images from our own host only; videos in
# articles are YouTube or Vimeo players (blog.blocks.VideoBlock). form-action also allows the
# Stripe pages our forms redirect to, and frame-ancestors follows X-Frame-Options
# (portal/middleware.py).
# ---------------------------------------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [
            SELF,
            "https://www.youtube.com",
            "https://www.youtube-nocookie.com",
            "https://player.vimeo.com",
        ],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
CSP_FORM_ACTION_SOURCES = ["payments.gateway.hosted_page_origins"]

# ---------------------------------------------------------------------------------------------
# Internationalisation
# ---------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Chicago"
USE_I18N = True
USE_TZ = True
# One date format on every page and in every mail: "Nov 21, 2026" (portal/formats/en/formats.py;
# the locale's own formats would win over DATE_FORMAT here, so the format module sets them).
FORMAT_MODULE_PATH = ["portal.formats"]
DATE_FORMAT = "M j, Y"
SHORT_DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y, g:i A"
# Site wording for the account pages allauth draws (sentence case, "Log in"): locale/en/.
LOCALE_PATHS = [BASE_DIR / "locale"]

# ---------------------------------------------------------------------------------------------
# Static and media files
# ---------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Discussion attachments are private: never under MEDIA_ROOT (which the web server may serve
# as /media/), only ever sent by the access-checked download view. A folder on one machine, or
# an S3-compatible bucket (django-storages) when web processes run on several.
ATTACHMENTS_DIR = env.path("ATTACHMENTS_DIR", default=str(VAR_DIR / "private" / "attachments"))
ATTACHMENTS_S3_BUCKET = env.str("ATTACHMENTS_S3_BUCKET", default="")
if ATTACHMENTS_S3_BUCKET:
    # https://django-storages.readthedocs.io/en/latest/backends/amazon-S3.html
    ATTACHMENTS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            "endpoint_url": env.str("ATTACHMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ATTACHMENTS_S3_REGION", default="") or None,
            "access_key": env.str("ATTACHMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("ATTACHMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": "attachments",
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    ATTACHMENTS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ATTACHMENTS_DIR)},
    }
# Resource library files: private like attachments, sent only by the library's access-checked
# download (a members-only policy must never sit at a public /media/ or /documents/ URL).
LIBRARY_DIR = env.path("LIBRARY_DIR", default=str(VAR_DIR / "private" / "library"))
if ATTACHMENTS_S3_BUCKET:
    LIBRARY_STORAGE = {
        "BACKEND": ATTACHMENTS_STORAGE["BACKEND"],
        "OPTIONS": {**ATTACHMENTS_STORAGE["OPTIONS"], "location": "library"},
    }
else:
    LIBRARY_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(LIBRARY_DIR)},
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": ATTACHMENTS_STORAGE,
    "library": LIBRARY_STORAGE,
}

# ---------------------------------------------------------------------------------------------
# Wagtail: https://docs.wagtail.org/en/stable/reference/settings.html
# ---------------------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = ASSOCIATION_SHORT_NAME
# Draftail, with malformed posted JSON read as empty instead of a 500 (portal/richtext.py).
WAGTAILADMIN_RICH_TEXT_EDITORS = {
    "default": {"WIDGET": "portal.richtext.CheckedDraftailRichTextArea"},
}
WAGTAILADMIN_BASE_URL = SITE_URL
# Moderation notices go out with an HTML part in the portal's mail design
# (templates/wagtailadmin/notifications/base.html overrides Wagtail's).
WAGTAILADMIN_NOTIFICATION_USE_HTML = True
# No avatars from gravatar.com: the portal makes no calls to outside hosts, and staff e-mail
# hashes are not sent to a third party. Wagtail shows its bundled default avatar instead.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Nor does the dashboard ask releases.wagtail.org for the latest version (the CSP would block it).
WAGTAIL_ENABLE_UPDATE_CHECK = False
# Wagtail's database backend, reduced to words before it queries (portal/search.py).
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "portal.search"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "rtf", "txt", "xlsx"]
# The resource library (library/): the kinds of file it takes, and the largest upload. The
# words of PDF, DOCX, TXT and CSV files are read for its search (library/extract.py).
LIBRARY_EXTENSIONS = ["pdf", "docx", "xlsx", "pptx", "odt", "csv", "txt"]
LIBRARY_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 10 * 1024 * 1024

# ---------------------------------------------------------------------------------------------
# Blog: page cache, CDN purging, images. See the README's "Articles" section.
# ---------------------------------------------------------------------------------------------
# Anonymous GETs of article, index, feed and home pages are served from the default cache
# (blog/cache.py); publishing, unpublishing or moving a page starts a new cache generation.
PAGE_CACHE_ENABLED = env.bool("PAGE_CACHE_ENABLED", default=True)
PAGE_CACHE_SECONDS = 600  # an upper bound on staleness for changes no signal reports
PAGE_CACHE_CDN_SECONDS = 300  # s-maxage sent to a CDN with cacheable anonymous pages
# Each web process keeps its last pages in memory and re-reads the cache generation this often,
# so a publish reaches every process within this many seconds (its own process at once).
PAGE_CACHE_GENERATION_CHECK_SECONDS = env.float("PAGE_CACHE_GENERATION_CHECK_SECONDS", default=0.5)
# Page models outside the blog whose anonymous responses may be cached.
PAGE_CACHE_PAGE_MODELS = ["portal.HomePage"]
# Saving or deleting one of these changes what cached pages show, so it empties the cache.
PAGE_CACHE_INVALIDATING_MODELS = [
    "blog.Author",
    "blog.BlogCategory",
    "portal.Testimonial",
    "portal.NavigationSettings",
    "wagtailcore.Site",
    "wagtailimages.Image",
]
# A CDN or caching proxy in front of the portal is told to purge a page when it is published:
# https://docs.wagtail.org/en/stable/reference/contrib/frontendcache.html
# FRONTEND_CACHE_PURGE_URL names an HTTP PURGE endpoint (Varnish, Squid, nginx); unset, none.
FRONTEND_CACHE_PURGE_URL = env.str("FRONTEND_CACHE_PURGE_URL", default="")
WAGTAILFRONTENDCACHE = (
    {
        "default": {
            "BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend",
            "LOCATION": FRONTEND_CACHE_PURGE_URL,
        }
    }
    if FRONTEND_CACHE_PURGE_URL
    else {}
)
# Renditions are looked up in this cache before the database, so an article's images cost
# no query once seen: https://docs.wagtail.org/en/stable/advanced_topics/performance.html
# Keyed by database, since rendition ids are only unique within one.
CACHES["renditions"] = {
    **CACHES["default"],
    "KEY_PREFIX": f"renditions:{Path(str(DATABASES['default']['NAME'])).name}",
    "TIMEOUT": 24 * 3600,
}
# Rendered pieces of the site's chrome (navigation, footer), kept in each process: they are
# small, versioned by the content generation (portal/cache.py) and needed on every page.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "TIMEOUT": 3600,
}
# Previews and "View draft" render their fragments through this one, which keeps nothing, so a
# draft is never shown from (or stored as) the live page's fragments (portal/cache.py).
CACHES["preview"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
WAGTAILIMAGES_FORMAT_CONVERSIONS = {"bmp": "png", "gif": "png"}
# Sessions read from the cache and written through to the database: a logged-in reader's page
# then costs no session query. https://docs.djangoproject.com/en/5.2/topics/http/sessions/
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# ---------------------------------------------------------------------------------------------
# Logging: everything to stdout, as a twelve-factor process should.
# ---------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Wagtail 7+ runs search-index and reference-index updates as django-tasks; one INFO
        # line per task drowns everything else.
        "django_tasks": {"level": "WARNING"},
        # stripe-python logs every request at INFO; its errors still come through.
        "stripe": {"level": "WARNING"},
        # WeasyPrint logs each rendering step at INFO; its warnings (a style it cannot use) stay.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Elections: the reminder to those who have not voted goes out this long before the close.
ELECTIONS_REMINDER_HOURS = 48

# ---------------------------------------------------------------------------------------------
# Invoices, receipts and credit notes (payments/invoicing.py). The seller's details are copied
# onto each document when it is issued, so changing them never alters an issued invoice.
# ---------------------------------------------------------------------------------------------
INVOICE_SELLER_NAME = env.str("INVOICE_SELLER_NAME", default=f"{ASSOCIATION_NAME}, Inc.")
INVOICE_SELLER_ADDRESS = env.str(
    "INVOICE_SELLER_ADDRESS", default="100 Demo Plaza, Suite 200\nChicago, IL 60601\nUSA"
).replace("\\n", "\n")
INVOICE_SELLER_TAX_ID = env.str("INVOICE_SELLER_TAX_ID", default="EIN 00-0000000 (demo)")
# Printed on invoices paid by check or ACH.
INVOICE_PAYMENT_INSTRUCTIONS = env.str(
    "INVOICE_PAYMENT_INSTRUCTIONS",
    default=(
        f"Checks payable to {ASSOCIATION_NAME}, mailed to the address above. "
        "ACH: Demo Bank, routing 000000000, account 000000000 (demo). "
        "Please quote the invoice number."
    ),
)
# A sales tax or VAT rate in percent (e.g. "8.25"), applied to every line; empty: no tax.
INVOICE_TAX_RATE = env.str("INVOICE_TAX_RATE", default="")
INVOICE_TAX_NAME = env.str("INVOICE_TAX_NAME", default="Sales tax")
INVOICE_CURRENCY = "usd"
CELERY_BEAT_SCHEDULE["payments-invoice-reminders"] = {
    # Invoices paid by check or ACH: one reminder on the due date (sent once per invoice).
    "task": "payments.tasks.invoice_reminders_queue",
    "schedule": 60 * 60.0,
}
