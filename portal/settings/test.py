"""Settings for the test suite. The database and broker still come from the environment, so
the same suite runs on the embedded defaults and on PostgreSQL + Redis."""

import os
import tempfile
import uuid
from pathlib import Path

from .demo import use_demo_association

# The suite's association is the demo's, whatever the shell exports.
use_demo_association(override=True)

from .base import *  # noqa: E402, F403

DEBUG = False
DEMO_MODE = True
# A fast hasher: password hashing dominates test time otherwise.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tempfile.mkdtemp(prefix="guildhall-attachments-")},
    },
    "library": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tempfile.mkdtemp(prefix="guildhall-library-")},
    },
}
# As in production: only our MTA's Authentication-Results header makes a sender trusted (the
# tests' mail carries one, see tests/discussions/helpers.py), never the loopback peer.
DISCUSSIONS_AUTHSERV_ID = f"mx.{LIST_DOMAIN}"  # noqa: F405
DISCUSSIONS_TRUST_LOOPBACK = False
WAGTAILADMIN_BASE_URL = "http://testserver"

# Each test run gets a broker of its own, so two runs on one machine (or a `make run` beside
# the tests) never consume each other's jobs.
_run_id = f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    _broker_dir = Path(tempfile.mkdtemp(prefix="guildhall-celery-"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": f"{_run_id}:",
    }
CACHES["default"]["KEY_PREFIX"] = _run_id  # noqa: F405
if CACHES["default"]["BACKEND"].endswith("RedisCache"):  # noqa: F405
    # Tests empty the cache before each case: only this run's keys (see tests/run_cache.py).
    CACHES["default"]["BACKEND"] = "tests.run_cache.RunRedisCache"  # noqa: F405
if CACHES["default"]["BACKEND"].endswith("FileBasedCache"):  # noqa: F405
    # A folder of the run's own: tests empty the cache before each case, which must never
    # touch a `make run` beside them.
    CACHES["default"]["LOCATION"] = tempfile.mkdtemp(prefix="guildhall-cache-")  # noqa: F405
    CACHES["renditions"]["LOCATION"] = CACHES["default"]["LOCATION"]  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A test database in a file, not in shared-cache memory: threads (the live server, the
    # Celery worker) then wait on SQLite's busy timeout instead of failing at once with
    # "database table is locked".
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.mkdtemp(prefix="guildhall-testdb-")) / "test.sqlite3")
    }
