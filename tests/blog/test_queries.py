"""A post page costs the same few queries whatever its tags, authors and related posts, and
the index costs the same whatever the number of posts on it."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.cache import content_changed
from tests.blog.factories import make_author, make_category, make_image, make_index, make_post
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    # Measure the real work of building a page, not a cache hit.
    settings.PAGE_CACHE_ENABLED = False
    cache.clear()


def _rich_post(n_tags: int, n_authors: int, n_related: int):
    category = make_category("Practice management")
    tags = [f"Tag {i}" for i in range(n_tags)]
    authors = [make_author(photo=make_image()) for _ in range(n_authors)]
    for i in range(n_related):
        make_post(title=f"Related {i}", tags=tags[:1], featured_image=make_image())
    return make_post(
        title="Rich",
        tags=tags,
        authors=authors,
        category=category,
        featured_image=make_image(size=(1600, 900)),
    )


def _count(client, url, *, fresh: bool = False) -> int:
    """Queries for one request of `url` with the site-root and renditions caches warm, as on
    any running server. `fresh` starts a new page-cache generation first, so the article's
    rendered fragments and the routing shortcut miss and the page is built from the database."""
    client.get(url)
    if fresh:
        content_changed()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("reader", ["anonymous", "member"])
def test_post_page_query_count_is_constant(client, reader, django_assert_max_num_queries):
    if reader == "member":
        client.force_login(MemberFactory())
    small = _rich_post(n_tags=1, n_authors=1, n_related=1)
    small_counts = (_count(client, small.url), _count(client, small.url, fresh=True))
    big = _rich_post(n_tags=8, n_authors=4, n_related=6)
    big_counts = (_count(client, big.url), _count(client, big.url, fresh=True))

    assert big_counts == small_counts
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(big.url)
    content_changed()
    with django_assert_max_num_queries(MAX_QUERIES):
        # Built from scratch: tags, authors, related posts and the route's index on top.
        client.get(big.url)


def test_index_query_count_does_not_grow_with_posts(client, django_assert_max_num_queries):
    index = make_index()
    for _ in range(2):
        make_post(featured_image=make_image(), tags=["A"])
    few = (_count(client, index.url), _count(client, index.url, fresh=True))
    for _ in range(7):
        make_post(featured_image=make_image(), tags=["A"], category=make_category("B"))
    many = (_count(client, index.url), _count(client, index.url, fresh=True))

    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(index.url)
    assert many == few
    assert max(many) <= MAX_QUERIES  # warm, and built from scratch after a publish
