"""A document's own words, for the library search: PDF text through pypdf, DOCX text through
python-docx, plain text and CSV read as they are. No Django here.

Uploads come from staff, but files come from anywhere (a vendor's form, an old scan), so every
reader is bounded: in bytes read, pages walked, characters kept and seconds spent. A file that
is not what it claims, is encrypted, or makes a parser fail raises ExtractionFailed with a
reason staff can read; nothing else escapes.
"""

from __future__ import annotations

import logging
import re
import time
import zipfile
from typing import IO

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 200_000
MAX_PDF_PAGES = 500
MAX_SECONDS = 30.0
# A DOCX is a zip; its main part inflates to this at most before python-docx is let near it
# (a zip bomb is a few kilobytes that inflate to gigabytes).
MAX_DOCX_PART_BYTES = 20 * 1024 * 1024
MAX_DOCX_TOTAL_BYTES = 100 * 1024 * 1024
MAX_PLAIN_BYTES = 2 * 1024 * 1024

# What each kind of file starts with; a ".pdf" that does not is refused at upload.
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"

EXTRACTED_KINDS = frozenset({"pdf", "docx", "txt", "csv"})

_SPACE = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ExtractionFailed(Exception):
    """The file's text could not be read; str(exc) says why, in words for staff."""


def tidy(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Text as the index and a reader want it: no control characters (PostgreSQL refuses a
    NUL), runs of spaces and blank lines folded, at most `limit` characters."""
    text = _CONTROL.sub(" ", text)
    text = _SPACE.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()[:limit]


def looks_like(kind: str, head: bytes) -> bool:
    """Whether a file's first bytes fit its extension, for the kinds whose shape we know."""
    if kind == "pdf":
        # The header may follow a little junk; readers accept it within the first kilobyte.
        return PDF_MAGIC in head[:1024]
    if kind in {"docx", "xlsx", "pptx", "odt"}:
        return head.startswith(ZIP_MAGIC)
    return True


def extract_text(
    handle: IO[bytes],
    *,
    kind: str,
    limit: int = MAX_TEXT_CHARS,
    seconds: float = MAX_SECONDS,
) -> str:
    """The text of the file open in `handle` (binary, seekable) of `kind` (its extension).

    Returns "" for kinds whose text is not read. Raises ExtractionFailed."""
    deadline = time.monotonic() + seconds
    if kind == "pdf":
        return _pdf_text(handle, limit=limit, deadline=deadline)
    if kind == "docx":
        return _docx_text(handle, limit=limit, deadline=deadline)
    if kind in {"txt", "csv"}:
        raw = handle.read(MAX_PLAIN_BYTES)
        return tidy(raw.decode("utf-8", errors="replace"), limit)
    return ""


def _pdf_text(handle: IO[bytes], *, limit: int, deadline: float) -> str:
    from pypdf import PdfReader

    if not looks_like("pdf", handle.read(1024)):
        raise ExtractionFailed("This file is not a PDF.")
    handle.seek(0)
    try:
        reader = PdfReader(handle)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionFailed("The PDF is encrypted with a password; its text is not read.")
        parts: list[str] = []
        size = 0
        for number, page in enumerate(reader.pages):
            if number >= MAX_PDF_PAGES:
                logger.info("library pdf text stopped at %s pages", MAX_PDF_PAGES)
                break
            if time.monotonic() > deadline:
                logger.info("library pdf text stopped after %s pages: time limit", number)
                break
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size >= limit:
                break
    except ExtractionFailed:
        raise
    except Exception as exc:
        # pypdf raises its own errors for broken files, but a hostile one also reaches
        # KeyError, ValueError, RecursionError and friends deep inside; all mean "unreadable".
        logger.info("library pdf unreadable: %s: %s", type(exc).__name__, exc)
        raise ExtractionFailed("The PDF could not be read (it may be damaged).") from exc
    return tidy("\n\n".join(parts), limit)


def _docx_text(handle: IO[bytes], *, limit: int, deadline: float) -> str:
    from docx import Document

    if not looks_like("docx", handle.read(4)):
        raise ExtractionFailed("This file is not a Word document (DOCX).")
    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            names = {info.filename: info for info in infos}
            main = names.get("word/document.xml")
            if main is None:
                raise ExtractionFailed("The Word document has no body (word/document.xml).")
            if main.file_size > MAX_DOCX_PART_BYTES or (
                sum(info.file_size for info in infos) > MAX_DOCX_TOTAL_BYTES
            ):
                raise ExtractionFailed("The Word document is too large once unpacked.")
        handle.seek(0)
        document = Document(handle)
        parts: list[str] = []
        size = 0
        for paragraph in document.paragraphs:
            parts.append(paragraph.text)
            size += len(paragraph.text)
            if size >= limit or time.monotonic() > deadline:
                break
        else:
            for table in document.tables:
                for row in table.rows:
                    cells = " ".join(cell.text for cell in row.cells)
                    parts.append(cells)
                    size += len(cells)
                    if size >= limit or time.monotonic() > deadline:
                        break
                if size >= limit or time.monotonic() > deadline:
                    break
    except ExtractionFailed:
        raise
    except Exception as exc:
        # A damaged zip, XML that lxml refuses, a part python-docx does not expect.
        logger.info("library docx unreadable: %s: %s", type(exc).__name__, exc)
        raise ExtractionFailed("The Word document could not be read (it may be damaged).") from exc
    return tidy("\n".join(parts), limit)
