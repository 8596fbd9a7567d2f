"""Marking the words a search matched, safely: shared by article and discussion search.

Matching happens on the raw text and every piece is escaped on the way out, so a search for
"amp" or "lt" can never break an entity, and nothing the text contains is ever taken as markup.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .spelling import variants

EXCERPT_CHARS = 220


def terms_pattern(query: str) -> re.Pattern | None:
    """A pattern matching the query's words, in their US and UK spellings, at the start of a
    word (so "manager" also marks "managers", as the stemming search found them)."""
    words = sorted(
        {v for w in re.findall(r"\w+", query.lower()) if len(w) > 1 for v in variants(w)}, key=len
    )
    if not words:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in reversed(words)) + r")\w*", re.I)


def highlight(text: str, pattern: re.Pattern | None) -> SafeString:
    """Escape `text` and wrap each match in <mark>; matching before escaping means a search
    for "amp" can never break an HTML entity."""
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 every piece above was escaped


def excerpt(text: str, pattern: re.Pattern | None) -> SafeString:
    """About EXCERPT_CHARS of `text` around its first match, highlighted."""
    match = pattern.search(text) if pattern else None
    if match is None:
        return SafeString("")
    start = max(0, match.start() - EXCERPT_CHARS // 3)
    if start:
        start = text.find(" ", start) + 1
    end = min(len(text), start + EXCERPT_CHARS)
    if end < len(text):
        end = text.rfind(" ", start, end) or end
    snippet = text[start:end]
    prefix = "… " if start else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(prefix + highlight(snippet, pattern) + suffix)  # noqa: S308 escaped above
