"""Article search: Wagtail search over live, public posts, with the matched words highlighted.

On PostgreSQL Wagtail's database backend uses PostgreSQL full-text search; on SQLite it uses
SQLite's FTS. Members-only bodies are not in the index (see BlogPostPage.search_fields), and the
results never quote them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.utils.safestring import SafeString

from portal.search import clean_query
from portal.spelling import search_query
from portal.textmatch import excerpt, highlight, terms_pattern

from .models import BlogPostPage

RESULTS_PER_PAGE = 10


@dataclass
class SearchHit:
    post: object
    title: SafeString
    intro: SafeString
    excerpt: SafeString


def search_posts(*, index, query: str, page_number) -> Page:
    """A page of SearchHits for `query` among the live, public posts under `index`.

    An empty query gives an empty page rather than every post. Members-only posts can be found
    by their title and intro only, and their hits never carry an excerpt of the body.
    """
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
