"""Article search: Wagtail search over live, public posts, with the matched words highlighted.

On PostgreSQL Wagtail's database backend uses PostgreSQL full-text search; on SQLite it uses
SQLite's FTS. Members-only bodies are not in the index (see BlogPostPage.search_fields), and the
results never quote them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from portal.search import clean_query
from portal.spelling import search_query, variants

RESULTS_PER_PAGE = 10
EXCERPT_CHARS = 220


@dataclass
class SearchHit:
    post: object
    title: SafeString
    intro: SafeString
    excerpt: SafeString


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


def search_posts(*, index, query: str, page_number) -> Page:
    """A page of SearchHits for `query` among the live, public posts under `index`.

    An empty query gives an empty page rather than every post. Members-only posts can be found
    by their title and intro only, and their hits never carry an excerpt of the body.
    """
    from .models import BlogPostPage

    words = search_query(clean_query(query))
    if words is None:
        return Paginator([], RESULTS_PER_PAGE).page(1)
    results = (
        BlogPostPage.objects.live()
        .public()
        .descendant_of(index)
        .select_related("featured_image", "category")
        .search(words)  # each word in any of its US and UK spellings
    )
    paginator = Paginator(results, RESULTS_PER_PAGE)
    try:
        page = paginator.page(page_number)
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    pattern = terms_pattern(query)
    page.object_list = [
        SearchHit(
            post=post,
            title=highlight(post.title, pattern),
            intro=highlight(post.intro, pattern),
            excerpt=excerpt(post.public_body_text(), pattern),
        )
        for post in page.object_list
    ]
    return page
