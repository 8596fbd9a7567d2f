"""The search backend: Wagtail's database backend, fed only words.

Every search in the portal goes through it: article search, and the Wagtail admin's page,
image, document and snippet searches. Full-text query syntaxes differ by database (SQLite's
FTS5 MATCH treats a `"` as the start of a phrase and fails on an unclosed one; PostgreSQL
refuses a NUL in any string), so a query is reduced to its words before it reaches one: what
people type into a search box is words, and punctuation only ever made those searches fail.
"""

from __future__ import annotations

import re

from modelsearch.backends import database
from modelsearch.backends.base import EmptySearchResults, FilterFieldError

MAX_QUERY_CHARS = 200
_NOT_WORDS = re.compile(r"[^\w\s]+|[\x00-\x1f\x7f]+")


def clean_query(query: str) -> str:
    """The words of `query`, separated by single spaces, at most MAX_QUERY_CHARS long."""
    words = _NOT_WORDS.sub(" ", query.replace("\x00", " ")).split()
    return " ".join(words)[:MAX_QUERY_CHARS].strip()


class NoWords(EmptySearchResults):
    """No results, for a query with no words left in it. Unlike the backend's own empty
    results it knows its model, which the admin's listings read (a query of only `"` made
    them fail with AttributeError on `None._meta`)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def _clone(self):
        return self.__class__(self.model)


class _WordsOnly:
    def _search(self, query_compiler_class, query, model_or_queryset, **kwargs):
        if isinstance(query, str):
            query = clean_query(query)
            if not query:
                model = getattr(model_or_queryset, "model", model_or_queryset)
                return NoWords(model)
        try:
            return super()._search(query_compiler_class, query, model_or_queryset, **kwargs)
        except AttributeError as exc:
            # The query compiler's check() reads `.target` from every filter's column; a
            # filter on an annotation (the image and document listings' usage count) has
            # none. It is a filter the index cannot apply, which is what FilterFieldError
            # says (and what the admins answer 400 to, portal/badinput.py).
            raise FilterFieldError(f"cannot combine this filter with a search: {exc}") from exc


_classes: dict[type, type] = {}


def SearchBackend(params):  # the name Wagtail looks up in a backend module
    """The database backend Wagtail would pick for this database, taking words only."""
    cls = type(database.SearchBackend(params))
    if cls not in _classes:
        _classes[cls] = type(f"WordsOnly{cls.__name__}", (_WordsOnly, cls), {})
    return _classes[cls](params)
