"""Uploads through the Wagtail admin: kinds and sizes checked before anything is kept, and a
file's words read by the real worker. Hostile files (not what they claim, damaged, encrypted,
a zip bomb) are refused or fail cleanly with a reason for staff; none takes a page down."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter

from library import services
from library.extract import MAX_DOCX_PART_BYTES, ExtractionFailed, extract_text
from library.models import LibraryDocument
from library.samples import docx_bytes, pdf_bytes
from tests.conftest import second_factor_client, wait_for
from tests.factories import StaffFactory

from .helpers import category, make_document

ADD_URL = "/admin/snippets/library/librarydocument/add/"
TextStatus = LibraryDocument.TextStatus


def _post(client, name: str, content: bytes, **extra):
    data = {
        "title": extra.pop("title", "Uploaded policy"),
        "description": "",
        "category": str(category().pk),
        "members_only": "on",
        "file": SimpleUploadedFile(name, content),
        **extra,
    }
    return client.post(ADD_URL, data)


def _encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _zip_bomb_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<" + b"a" * (MAX_DOCX_PART_BYTES + 10))
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("payload.exe", b"MZ\x90\x00", "Upload a file of one of these kinds"),
        ("policy.html", b"<script>alert(1)</script>", "Upload a file of one of these kinds"),
        ("fake.pdf", b"<html>not a pdf</html>", "contents do not match its name"),
        ("fake.docx", b"%PDF-1.4 hello", "contents do not match its name"),
        ("empty.pdf", b"", "file is empty"),
    ],
)
def test_admin_refuses_files_that_are_not_what_they_claim(name, content, message):
    client = second_factor_client(StaffFactory(is_superuser=True))
    response = _post(client, name, content)

    assert response.status_code == 200  # the form again, with the reason
    assert message in response.content.decode()
    assert not LibraryDocument.objects.exists()


@pytest.mark.django_db
def test_admin_refuses_a_file_over_the_limit(settings):
    settings.LIBRARY_MAX_UPLOAD_BYTES = 1000
    client = second_factor_client(StaffFactory(is_superuser=True))
    response = _post(client, "big.pdf", pdf_bytes(["x" * 2000]))

    assert "The file is larger than" in response.content.decode()
    assert not LibraryDocument.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "note"),
    [
        ("damaged.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 500, "could not be read"),
        ("truncated.pdf", pdf_bytes(["Half a file"])[:150], "could not be read"),
        ("locked.pdf", _encrypted_pdf(), "encrypted"),
        ("bomb.docx", _zip_bomb_docx(), "too large once unpacked"),
        ("broken.docx", b"PK\x03\x04" + b"\xff" * 300, "could not be read"),
    ],
)
def test_hostile_files_fail_cleanly_and_stay_findable_by_title(client, name, content, note):
    document = make_document(title="Odd upload", filename=name, content=content, members_only=False)

    assert document.text_status == TextStatus.FAILED
    assert note in document.text_note
    assert document.text == ""
    # Twice is the same: the row says the file was already read.
    assert services.document_extract_text(document_id=document.pk) == TextStatus.FAILED
    html = client.get("/library/", {"q": "odd upload"}).content.decode()
    assert "Odd upload" in html


def test_extraction_is_bounded_in_characters():
    content = pdf_bytes(["word " * 200] * 30)
    text = extract_text(io.BytesIO(content), kind="pdf", limit=500)
    assert 0 < len(text) <= 500


def test_extraction_refuses_a_pdf_that_is_not_one():
    with pytest.raises(ExtractionFailed, match="not a PDF"):
        extract_text(io.BytesIO(b"hello"), kind="pdf")


def test_upload_through_admin_is_read_by_the_worker_and_found(celery_worker, client):
    staff = StaffFactory(is_superuser=True)
    admin = second_factor_client(staff)
    content = docx_bytes(["Biosimilar switching requires a new prior authorization."])
    response = _post(admin, "biosimilars.docx", content, title="Biosimilar checklist")
    assert response.status_code == 302, response.content.decode()[:2000]
    document = LibraryDocument.objects.get()
    assert document.filename == "biosimilars.docx"
    assert document.size == len(content)

    wait_for(
        lambda: LibraryDocument.objects.get().text_status == TextStatus.READ,
        message="the worker never read the document's text",
    )
    document.refresh_from_db()
    assert "Biosimilar switching" in document.text
    admin.force_login(staff)
    html = admin.get("/library/", {"q": "biosimilar switching"}).content.decode()
    assert "Biosimilar checklist" in html

    # Staff see the count in the admin listing.
    admin.get(f"/library/{document.pk}/download/")
    listing = second_factor_client(staff).get("/admin/snippets/library/librarydocument/")
    assert listing.status_code == 200
    document.refresh_from_db()
    assert document.download_count == 1


@pytest.mark.django_db
def test_an_editor_adds_a_document_through_the_admin(demo_site):
    from django.contrib.auth import get_user_model

    editor = get_user_model().objects.get(email="editor@norm.local")
    client = second_factor_client(editor)
    response = _post(client, "checklist.pdf", pdf_bytes(["Editors keep the library."]))
    assert response.status_code == 302
    assert LibraryDocument.objects.filter(title="Uploaded policy").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"q": "policy"},
        {"q": "policy", "ordering": "-download_count"},
        {"q": "policy", "text_status": "failed", "members_only": "true"},
        {"q": "'\"<x>", "category": "x", "ordering": "nope"},
    ],
)
def test_admin_listing_searches_sorts_and_filters(params):
    make_document(title="Financial policy")
    client = second_factor_client(StaffFactory(is_superuser=True))
    response = client.get("/admin/snippets/library/librarydocument/", params)
    assert response.status_code in {200, 400}
    if params["q"] == "policy" and "text_status" not in params:
        assert "Financial policy" in response.content.decode()
