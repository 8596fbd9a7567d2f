import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-for-tests-only-0123456789",
    "ALLOWED_HOSTS": "portal.example.org",
    "SITE_URL": "https://portal.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/guildhall",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp+tls://user:pass@127.0.0.1:587",
}


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    # The test process itself sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a server never does.
    skip = {*PRODUCTION_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in skip}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **env, "DJANGO_SETTINGS_MODULE": "portal.settings.production"},
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
