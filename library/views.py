"""The library's public pages: the shelves with search, and the access-checked download."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from membership.access import can_read_members_only

from . import selectors, services
from .models import DocumentCategory, LibraryDocument

PER_PAGE = 20


@require_safe
def index(request):
    query = request.GET.get("q", "").strip()[:200]
    category = None
    if slug := request.GET.get("category", "")[:80]:
        category = DocumentCategory.objects.filter(slug=slug).first()
    found: Iterable[LibraryDocument]
    if request.GET.get("category") and category is None:
        found = []  # an unknown shelf lists nothing rather than everything
    elif query:
        found = selectors.documents_search(user=request.user, query=query, category=category)
    else:
        found = selectors.documents(category)
    number = request.GET.get("page", "1")
    number = number if number.isdigit() and len(number) < 6 else "1"
    page = Paginator(found, PER_PAGE).get_page(number)
    return render(
        request,
        "library/library_index.html",
        {
            "documents": page,
            "query": query,
            "searched": bool(query),
            "categories": DocumentCategory.objects.all(),
            "active_category": category,
            "may_read_members_only": can_read_members_only(request.user),
        },
    )


@require_safe
def download(request, pk: int):
    """The file, always as an attachment (nosniff), counted for staff. Members-only files
    leave private storage only here, and only for those membership.access lets in."""
    document = get_object_or_404(LibraryDocument.objects.defer("text"), pk=pk)
    if not services.may_download(request.user, document):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return render(request, "library/members_only.html", {"document": document}, status=403)
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404("The file is missing.") from None
    services.document_download_record(document=document)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.filename or f"document-{document.pk}.{document.kind}",
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    if document.members_only:
        response["Cache-Control"] = "private, no-store"
    return response
