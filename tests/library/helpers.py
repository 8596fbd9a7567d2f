"""Library documents for tests, made through the same steps as the admin's (file saved to
private storage, then the service that reads its words)."""

from __future__ import annotations

from django.core.files.base import ContentFile

from library import services
from library.models import DocumentCategory, LibraryDocument
from library.samples import docx_bytes, pdf_bytes


def category(name: str = "Policies") -> DocumentCategory:
    found, _ = DocumentCategory.objects.get_or_create(slug=name.lower(), defaults={"name": name})
    return found


def make_document(
    *,
    title: str = "Financial policy",
    members_only: bool = True,
    lines: list[str] | None = None,
    filename: str = "policy.pdf",
    content: bytes | None = None,
    description: str = "",
    shelf: DocumentCategory | None = None,
    extract: bool = True,
) -> LibraryDocument:
    lines = lines or ["Copays are collected at check-in."]
    if content is None:
        make = pdf_bytes if filename.endswith(".pdf") else docx_bytes
        content = make(lines, title=title)
    document = LibraryDocument(
        title=title,
        description=description,
        category=shelf or category(),
        members_only=members_only,
        filename=filename,
        size=len(content),
    )
    document.file.save(filename, ContentFile(content), save=False)
    document.save()
    if extract:
        services.document_extract_text(document_id=document.pk)
        document.refresh_from_db()
    return document
