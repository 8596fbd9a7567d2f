"""The resource library: documents (policies, templates, forms) in categories, each public or
for members only, managed as Wagtail snippets. Files sit in private storage and leave it only
through the access-checked download (library.views.download)."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.db import models
from django.urls import reverse
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.search import index

from .forms import LibraryDocumentForm
from .storage import library_path, library_storage

# What a download is sent as, by extension; anything else would never have been accepted.
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "csv": "text/csv",
    "txt": "text/plain",
}
KIND_LABELS = {
    "pdf": "PDF",
    "docx": "Word",
    "xlsx": "Excel",
    "pptx": "PowerPoint",
    "odt": "OpenDocument",
    "csv": "CSV",
    "txt": "Text",
}


class DocumentCategory(models.Model):
    """A shelf of the library: policies, templates, forms."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=255, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        FieldPanel("sort_order"),
    ]

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = "library category"
        verbose_name_plural = "library categories"

    def __str__(self) -> str:
        return self.name


class LibraryDocument(index.Indexed, models.Model):
    """One document in the library. Its words are read from the file after each upload
    (library.tasks.document_extract_text) and searched with its title and description."""

    class TextStatus(models.TextChoices):
        PENDING = "pending", "Waiting to be read"
        READ = "read", "Text read"
        NOT_READ = "not_read", "Not read for this kind of file"
        FAILED = "failed", "Could not be read"

    title = models.CharField(max_length=200)
    description = models.TextField(
        max_length=1000, blank=True, help_text="What it is for and who should use it."
    )
    category = models.ForeignKey(
        DocumentCategory, on_delete=models.PROTECT, related_name="documents"
    )
    members_only = models.BooleanField(
        default=True,
        help_text="Only active members can download it; everyone sees its title and description.",
    )
    file = models.FileField(
        upload_to=library_path,
        storage=library_storage,
        max_length=200,
        help_text="PDF, Word, Excel, PowerPoint, OpenDocument, CSV or plain text.",
    )
    filename = models.CharField(max_length=255, editable=False)
    size = models.PositiveBigIntegerField(default=0, editable=False)
    text = models.TextField(blank=True, editable=False)
    text_status = models.CharField(
        max_length=10, choices=TextStatus, default=TextStatus.PENDING, editable=False
    )
    text_note = models.CharField(max_length=200, blank=True, editable=False)
    # The stored file the text was read from: a new upload changes `file`, so a stale read
    # (or a second run of the task) can tell it is not the current one.
    text_source = models.CharField(max_length=200, blank=True, editable=False)
    download_count = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    panels = [
        FieldPanel("title"),
        FieldPanel("description"),
        FieldPanel("category"),
        FieldPanel("members_only"),
        MultiFieldPanel([FieldPanel("file")], heading="File"),
    ]
    search_fields = [
        index.SearchField("title", boost=3),
        index.AutocompleteField("title"),
        index.SearchField("description"),
        index.SearchField("text"),
        # What the admin listing filters and sorts by while it searches.
        index.FilterField("title"),
        index.FilterField("members_only"),
        index.FilterField("category"),
        index.FilterField("category_id"),
        index.FilterField("text_status"),
        index.FilterField("download_count"),
        index.FilterField("updated_at"),
    ]
    base_form_class = LibraryDocumentForm

    class Meta:
        ordering = ["title"]
        verbose_name = "library document"
        verbose_name_plural = "library documents"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("library:download", args=[self.pk])

    @property
    def kind(self) -> str:
        return PurePosixPath(self.filename).suffix.lower().lstrip(".")

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind.upper())

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.kind, "application/octet-stream")
