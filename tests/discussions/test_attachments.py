"""Attachments live in private storage under random names and leave it only as downloads,
through the access-checked view; a held post's files reach its list's moderators alone."""

import importlib
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

from discussions import services
from discussions.models import Attachment, Message
from tests.factories import MemberFactory

from .helpers import authentication_results, make_list, minimal_pdf

pytestmark = pytest.mark.django_db

SCRIPT = b"<html><body><script>fetch('/membership/account/')</script></body></html>"
# A real PDF: the privacy guard reads PDFs and holds a post with one it cannot open.
PDF = minimal_pdf("Prior authorization form")


def post_with_attachments(mailing_list, sender, *, authenticated=True) -> Message:
    msg = EmailMessage()
    if authenticated:
        msg["Authentication-Results"] = authentication_results(sender)
    msg["From"] = sender
    msg["To"] = mailing_list.address
    msg["Subject"] = "Forms"
    msg.set_content("Our forms are attached.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="pa.pdf")
    # Declared as plain text, named .html: a web server serving /media/ would render it.
    msg.add_attachment(SCRIPT, maintype="text", subtype="plain", filename="report.html")
    inbound = services.inbound_store(
        raw=msg.as_bytes(), mail_from=sender, rcpt_to=mailing_list.address
    )
    services.inbound_ingest(inbound_id=inbound.pk)
    return Message.objects.get(inbound=inbound)


@pytest.fixture
def billing():
    return make_list()


def test_attachments_are_kept_in_private_storage_under_unguessable_names(billing, settings):
    member = MemberFactory()
    message = post_with_attachments(billing, member.email)
    items = list(message.attachments.order_by("pk"))
    assert [a.filename for a in items] == ["pa.pdf", "report.html"]
    media = Path(settings.MEDIA_ROOT).resolve()
    private = storages["attachments"]
    for item in items:
        # In the private storage configured now (the field's storage is a lazy stand-in).
        assert private.exists(item.file.name)
        path = Path(item.file.path).resolve()
        assert path.is_relative_to(Path(private.location).resolve())
        assert media not in path.parents
        assert "pa" not in path.name and "report" not in path.name
        assert len(path.name) >= 32
    assert items[0].file.name != items[1].file.name


def test_attachments_follow_a_change_of_storages(billing, tmp_path):
    """The field looks STORAGES["attachments"] up when used, not once at import: an override
    takes effect, and the configured storage is back when it ends. (It used to keep the
    storage of import time, so a test overriding STORAGES broke the ones after it.)"""
    configured = Path(storages["attachments"].location).resolve()
    elsewhere = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)},
    }
    with override_settings(STORAGES={**django_settings.STORAGES, "attachments": elsewhere}):
        message = post_with_attachments(billing, MemberFactory().email)
        names = [item.file.name for item in message.attachments.all()]
        assert names and all((tmp_path / name).is_file() for name in names)
    later = Attachment.objects.create(
        message=message,
        file=ContentFile(b"later", name="x"),
        filename="later.txt",
        content_type="text/plain",
        size=5,
    )
    assert Path(later.file.path).resolve().is_relative_to(configured)
    assert storages["attachments"].exists(later.file.name)
    assert not (tmp_path / later.file.name).exists()
    later.file.delete(save=False)


def test_an_html_attachment_downloads_and_is_never_rendered(billing, client):
    member = MemberFactory()
    message = post_with_attachments(billing, member.email)
    assert message.status == "published"
    item = message.attachments.get(filename="report.html")
    client.force_login(MemberFactory())
    response = client.get(f"/discussions/attachments/{item.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="report.html"')
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == SCRIPT
    pdf = client.get(f"/discussions/attachments/{message.attachments.get(filename='pa.pdf').pk}/")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")


def test_a_held_posts_attachments_reach_its_moderators_only(billing, client):
    moderator = MemberFactory()
    billing.moderators.add(moderator)
    message = post_with_attachments(billing, "stranger@example.net")
    assert message.status == "held"
    url = f"/discussions/attachments/{message.attachments.get(filename='pa.pdf').pk}/"
    assert client.get(url).status_code in (302, 404)
    client.force_login(MemberFactory())
    assert client.get(url).status_code == 404
    client.force_login(moderator)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == PDF
    other_list = make_list(slug="compliance", name="Compliance")
    other_moderator = MemberFactory()
    other_list.moderators.add(other_moderator)
    client.force_login(other_moderator)
    assert client.get(url).status_code == 404


def test_a_missing_file_is_a_404_not_a_500(billing, client):
    member = MemberFactory()
    message = post_with_attachments(billing, member.email)
    item = message.attachments.first()
    item.file.storage.delete(item.file.name)
    client.force_login(member)
    assert client.get(f"/discussions/attachments/{item.pk}/").status_code == 404


def test_the_migration_moves_public_files_into_private_storage(billing, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    member = MemberFactory()
    message = services.message_post_web(
        user=member, mailing_list=billing, subject="Forms", text="Attached."
    )
    public = storages["default"]
    old_name = public.save("discussions/2026/05/pa.pdf", ContentFile(b"%PDF-1.4 old"))
    item = Attachment.objects.create(
        message=message,
        file=ContentFile(b"placeholder", name="x"),
        filename="pa.pdf",
        content_type="application/pdf",
        size=12,
    )
    storages["attachments"].delete(item.file.name)
    Attachment.objects.filter(pk=item.pk).update(file=old_name)
    migration = importlib.import_module(
        "discussions.migrations.0004_move_attachments_to_private_storage"
    )
    migration.move_to_private(apps, None)
    migration.move_to_private(apps, None)  # running twice changes nothing more
    item.refresh_from_db()
    assert not public.exists(old_name)
    assert item.file.name != old_name and "pa" not in item.file.name
    with item.file.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4 old"


def test_several_web_machines_keep_attachments_in_a_private_s3_bucket():
    """Configured by environment alone (django-storages); no request leaves the machine."""
    root = Path(__file__).resolve().parents[2]
    code = (
        "from django.core.files.storage import storages; s = storages['attachments']; "
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.default_acl, "
        "s.querystring_auth, s.file_overwrite, s.location)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ATTACHMENTS_")},
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "ATTACHMENTS_S3_BUCKET": "norm-attachments",
        "ATTACHMENTS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "ATTACHMENTS_S3_ACCESS_KEY_ID": "minio",
        "ATTACHMENTS_S3_SECRET_ACCESS_KEY": "minio-secret",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "S3Storage",
        "norm-attachments",
        "http://127.0.0.1:9000",
        "private",
        "True",
        "False",
        "attachments",
    ]
