"""The snippet editor's form for a library document: the upload is checked before it is kept."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from wagtail.admin.forms import WagtailAdminModelForm

from .extract import looks_like


def check_upload(uploaded: UploadedFile) -> tuple[str, int]:
    """(the name to show, the size) of an acceptable upload; ValidationError otherwise."""
    name = PurePosixPath((uploaded.name or "").replace("\\", "/")).name.strip()[:255]
    kind = PurePosixPath(name).suffix.lower().lstrip(".")
    allowed = settings.LIBRARY_EXTENSIONS
    if kind not in allowed:
        raise ValidationError(
            "Upload a file of one of these kinds: %(kinds)s.",
            params={"kinds": ", ".join(allowed)},
            code="kind",
        )
    size = uploaded.size or 0
    if size == 0:
        raise ValidationError("The file is empty.", code="empty")
    if size > settings.LIBRARY_MAX_UPLOAD_BYTES:
        raise ValidationError(
            "The file is larger than %(limit)s.",
            params={"limit": filesizeformat(settings.LIBRARY_MAX_UPLOAD_BYTES)},
            code="size",
        )
    head = uploaded.read(1024)
    uploaded.seek(0)
    if not looks_like(kind, head):
        raise ValidationError(
            "The file is not a real .%(kind)s file: its contents do not match its name.",
            params={"kind": kind},
            code="mismatch",
        )
    return name, size


class LibraryDocumentForm(WagtailAdminModelForm):
    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        if isinstance(uploaded, UploadedFile):
            name, size = check_upload(uploaded)
            # What the reader is shown and sent as; the stored name is random (library_path).
            self.instance.filename = name
            self.instance.size = size
        return uploaded
