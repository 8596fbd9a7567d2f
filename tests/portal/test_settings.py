import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
# A good production environment, every service on the loopback address (nothing is contacted:
# `check --deploy` only reads the settings).
PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-for-tests-only-0123456789",
    "ALLOWED_HOSTS": "portal.example.org",
    "SITE_URL": "https://portal.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/guildhall",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "EMAIL_URL": "smtp+tls://user:pass@127.0.0.1:587",
    "STRIPE_SECRET_KEY": "sk_test_made-up-key-for-the-settings-tests",
    "STRIPE_WEBHOOK_SECRET": "whsec_made-up-secret-for-the-settings-tests",
}
# Everything the portal reads that the test run's own environment might set.
PORTAL_VARS = {
    *PRODUCTION_ENV,
    "DEBUG",
    "DEMO_MODE",
    "STRIPE_API_BASE",
    "STAFF_MFA_REQUIRED",
    "CSRF_TRUSTED_ORIGINS",
}


def _check_deploy(
    env: dict[str, str], settings_module: str = "portal.settings.production"
) -> subprocess.CompletedProcess:
    # The test process itself sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a server never does.
    skip = {*PORTAL_VARS, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in skip}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **env, "DJANGO_SETTINGS_MODULE": settings_module},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_secrets_set():
    result = _check_deploy(PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}

    result = _check_deploy(env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_refuse_the_filesystem_broker():
    result = _check_deploy({**PRODUCTION_ENV, "CELERY_BROKER_URL": "filesystem://"})

    assert result.returncode != 0
    assert "CELERY_BROKER_URL" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", None),
        ("STRIPE_SECRET_KEY", None),
        ("STRIPE_SECRET_KEY", "sk_test_standin"),
        ("STRIPE_WEBHOOK_SECRET", None),
        ("STRIPE_WEBHOOK_SECRET", "whsec_standin"),
        ("STRIPE_API_BASE", "http://127.0.0.1:12111"),
        ("STAFF_MFA_REQUIRED", "false"),
        ("EMAIL_URL", "filemail://"),
    ],
)
def test_production_settings_refuse_to_start_with_laptop_defaults(variable, value):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != variable}
    if value is not None:
        env[variable] = value

    result = _check_deploy(env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_check_deploy_names_every_laptop_default_that_must_not_reach_a_server():
    # The laptop's settings, as a careless deploy would start them.
    result = _check_deploy({"STAFF_MFA_REQUIRED": "false"}, settings_module="portal.settings.local")

    assert result.returncode != 0
    for check_id in [f"portal.E00{n}" for n in range(1, 9)] + ["portal.W009"]:
        assert check_id in result.stderr, check_id


def test_check_deploy_under_production_settings_reports_none_of_our_ids():
    result = _check_deploy(PRODUCTION_ENV)

    assert "portal." not in result.stdout + result.stderr


def test_admin_pages_load_no_avatars_from_outside_hosts(client, db):
    from django.contrib.auth.models import Group

    from tests.conftest import second_factor_client
    from tests.factories import UserFactory

    editor = UserFactory()
    editor.groups.add(Group.objects.get(name="Editors"))
    second_factor_client(editor, client)

    html = client.get("/admin/").content.decode()

    assert "default-user-avatar" in html
    assert "gravatar" not in html


def test_every_beat_entry_and_mail_route_names_a_task_a_worker_has(settings):
    celery_app.loader.import_default_modules()
    beat = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert [name for name in beat if name not in celery_app.tasks] == []
    router = celery_app.amqp.router
    mail = {"discussions.tasks.deliveries_send_batch", "discussions.tasks.digests_prepare"}
    assert {n for n in mail if router.route({}, n)["queue"].name == "mail"} == mail
