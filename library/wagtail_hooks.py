"""The library in the Wagtail admin: documents and their categories as snippets, with each
document's download count and whether its words were read."""

from __future__ import annotations

from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import (
    CreateView,
    EditView,
    SnippetViewSet,
    SnippetViewSetGroup,
)

from . import services
from .models import DocumentCategory, LibraryDocument


class _DocumentCreate(CreateView):
    def save_instance(self):
        instance = super().save_instance()
        services.document_saved(document=instance)
        return instance


class _DocumentEdit(EditView):
    def save_instance(self):
        instance = super().save_instance()
        services.document_saved(document=instance)
        return instance


class LibraryDocumentViewSet(SnippetViewSet):
    model = LibraryDocument
    icon = "doc-full"
    menu_label = "Documents"
    add_view_class = _DocumentCreate
    edit_view_class = _DocumentEdit
    copy_view_enabled = False
    list_display = ["title", "category", "members_only", "download_count", "text_status"]
    list_filter = ["category", "members_only", "text_status"]
    list_export = ["title", "category", "members_only", "filename", "download_count"]
    ordering = ["title"]


class DocumentCategoryViewSet(SnippetViewSet):
    model = DocumentCategory
    icon = "folder-open-inverse"
    menu_label = "Categories"
    list_display = ["name", "slug", "sort_order"]


class LibraryViewSetGroup(SnippetViewSetGroup):
    menu_label = "Library"
    menu_icon = "doc-full"
    menu_order = 250
    items = (LibraryDocumentViewSet, DocumentCategoryViewSet)


register_snippet(LibraryViewSetGroup)
