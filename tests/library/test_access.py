"""Who may download what: public documents for everyone; members-only ones for active members
and staff, through the one access-checked view; never at a public URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.urls import reverse

from membership.models import Membership
from tests.conftest import second_factor_client
from tests.factories import MemberFactory, StaffFactory, UserFactory

from .helpers import make_document

pytestmark = pytest.mark.django_db


def _client_for(role: str, client):
    if role == "anonymous":
        return client
    if role == "staff":
        return second_factor_client(StaffFactory())
    if role == "member":
        user = MemberFactory()
    elif role == "lapsed member":
        user = MemberFactory(membership__state=Membership.State.LAPSED)
    else:
        user = UserFactory()
    client.force_login(user)
    return client


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("non-member", 403),
        ("lapsed member", 403),
        ("member", 200),
        ("staff", 200),
    ],
)
def test_members_only_download_per_role(client, role, status):
    document = make_document(members_only=True, lines=["Staffing ratios from 214 practices."])
    response = _client_for(role, client).get(reverse("library:download", args=[document.pk]))

    assert response.status_code == status
    document.refresh_from_db()
    if status == 200:
        assert _body(response).startswith(b"%PDF-")
        assert response["Content-Disposition"].startswith('attachment; filename="policy.pdf"')
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "private" in response["Cache-Control"]
        assert document.download_count == 1
    else:
        assert document.download_count == 0
    if status == 302:
        assert response["Location"].startswith(reverse("account_login"))
    if status == 403:
        assert b"Become a member" in response.content


@pytest.mark.parametrize("role", ["anonymous", "non-member", "member", "staff"])
def test_public_download_for_every_role_and_counted(client, role):
    document = make_document(members_only=False, filename="intake.docx")
    response = _client_for(role, client).get(reverse("library:download", args=[document.pk]))

    assert response.status_code == 200
    assert _body(response).startswith(b"PK\x03\x04")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    document.refresh_from_db()
    assert document.download_count == 1


def test_files_live_outside_media_and_no_public_url_serves_them(client):
    document = make_document(members_only=True)
    location = Path(storages["library"].location).resolve()
    media = Path(settings.MEDIA_ROOT).resolve()

    assert not location.is_relative_to(media)
    assert document.file.name.startswith("library/")
    assert "policy" not in document.file.name  # a random name, not the upload's
    for url in (f"/media/{document.file.name}", f"/documents/{document.pk}/policy.pdf"):
        response = client.get(url, follow=True)
        assert response.status_code == 404
        assert b"%PDF" not in response.content


def test_missing_document_or_file_is_404(client):
    assert client.get(reverse("library:download", args=[999999])).status_code == 404
    document = make_document(members_only=False)
    document.file.storage.delete(document.file.name)
    assert client.get(reverse("library:download", args=[document.pk])).status_code == 404


def test_listing_shows_members_only_titles_with_a_way_in(client):
    make_document(title="HIPAA notice", members_only=True)
    make_document(title="Intake form", members_only=False, filename="intake.pdf")

    html = client.get(reverse("library:index")).content.decode()
    assert "HIPAA notice" in html and "Intake form" in html
    assert "Members only" in html
    assert "Log in to download" in html

    client.force_login(MemberFactory())
    html = client.get(reverse("library:index")).content.decode()
    assert "Log in to download" not in html
    assert html.count(">Download<") == 2
