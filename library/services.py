"""The library's writes and its one access rule.

Who may download a members-only document is membership.access's answer; everything else
about a document (its words, its count) is written here."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db import transaction
from django.db.models import F
from wagtail.search import index

from membership.access import can_read_members_only

from .extract import EXTRACTED_KINDS, ExtractionFailed, extract_text
from .models import LibraryDocument

logger = logging.getLogger(__name__)

TextStatus = LibraryDocument.TextStatus


def may_download(user: AbstractUser | AnonymousUser | None, document: LibraryDocument) -> bool:
    """Public documents are for everyone; members-only ones for whoever membership.access
    lets read members-only content."""
    return not document.members_only or can_read_members_only(user)


def document_saved(*, document: LibraryDocument) -> None:
    """After a create or an edit: a file whose text has not been read from it yet is queued
    for reading once the save commits. An edit that kept the file queues nothing."""
    if document.file.name == document.text_source:
        return
    LibraryDocument.objects.filter(pk=document.pk).update(
        text_status=TextStatus.PENDING, text_note=""
    )
    from .tasks import document_extract_text as task

    transaction.on_commit(lambda: task.delay(document.pk))


def document_extract_text(*, document_id: int) -> str:
    """Read the current file's words into `text` and the search index; returns the status.

    Safe to run twice and to race a new upload: the row is only written while its file is
    still the one that was read. A file that fails to read leaves the text empty with a
    reason for staff; the document stays in the library and is found by title and
    description."""
    document = LibraryDocument.objects.filter(pk=document_id).first()
    if document is None or not document.file:
        return "missing"
    source = document.file.name
    if document.text_source == source and document.text_status != TextStatus.PENDING:
        return str(document.text_status)
    text, status, note = "", TextStatus.NOT_READ, ""
    if document.kind in EXTRACTED_KINDS:
        try:
            with document.file.open("rb") as handle:
                text = extract_text(handle, kind=document.kind)
            status = TextStatus.READ
        except ExtractionFailed as exc:
            status, note = TextStatus.FAILED, str(exc)[:200]
        except OSError as exc:
            logger.warning("library document %s: file unreadable: %s", document_id, exc)
            status, note = TextStatus.FAILED, "The stored file could not be opened."
    updated = LibraryDocument.objects.filter(pk=document_id, file=source).update(
        text=text, text_status=status, text_note=note, text_source=source
    )
    if updated:
        document.refresh_from_db()
        index.insert_or_update_object(document)
    logger.info("library document %s text: %s %s", document_id, status, note)
    return str(status)


def document_download_record(*, document: LibraryDocument) -> None:
    """Count one download, in the database (concurrent downloads add up; no lost update)."""
    LibraryDocument.objects.filter(pk=document.pk).update(download_count=F("download_count") + 1)
