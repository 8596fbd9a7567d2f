"""The library's reads: the listing and the search, which hides members-only words."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db.models import Q, QuerySet
from wagtail.search.backends import get_search_backend

from membership.access import can_read_members_only
from portal.search import clean_query

from .models import DocumentCategory, LibraryDocument

MAX_RESULTS = 200


def documents(category: DocumentCategory | None = None) -> QuerySet[LibraryDocument]:
    found = LibraryDocument.objects.select_related("category").defer("text")
    return found.filter(category=category) if category else found


def documents_search(
    *,
    user: AbstractUser | AnonymousUser | None,
    query: str,
    category: DocumentCategory | None = None,
) -> list[LibraryDocument]:
    """Documents matching `query`, best first: by title, description and the file's words.

    A members-only document's words are searched only for readers who may download it; for
    anyone else it is found by its title and description alone, so a search never tells a
    non-member what a members-only file says."""
    if not clean_query(query):
        return []
    backend = get_search_backend()
    base = documents(category)
    if can_read_members_only(user):
        return list(backend.search(query, base)[:MAX_RESULTS])
    public = list(backend.search(query, base.filter(members_only=False))[:MAX_RESULTS])
    # Not through the index: it keeps a document's fields in one column, so it cannot leave
    # the file's words out. Every word in the title or the description, then.
    restricted = base.filter(members_only=True)
    for word in clean_query(query).split()[:10]:
        restricted = restricted.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return (public + list(restricted[:MAX_RESULTS]))[:MAX_RESULTS]
