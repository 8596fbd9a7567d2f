"""The anonymous page cache: fast for strangers, never a logged-in member's page for anyone
else, and fresh as soon as something is published, unpublished or moved."""

import pytest
from django.core.cache import cache

from blog.cache import HIT_HEADER, page_cache_clear
from tests.blog.factories import SECRET, make_index, make_post
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    page_cache_clear()
    yield
    cache.clear()
    page_cache_clear()


def test_second_anonymous_request_is_served_from_the_cache(client):
    post = make_post(title="Cached article")

    first = client.get(post.url)
    second = client.get(post.url)

    assert first[HIT_HEADER] == "miss" and second[HIT_HEADER] == "hit"
    assert second.content == first.content
    assert "public" in second["Cache-Control"] and "s-maxage" in second["Cache-Control"]


def test_member_page_is_never_stored_nor_served_to_anonymous_readers(client):
    post = make_post(title="Survey", members_only=True)
    member_client = client.__class__()
    member_client.force_login(MemberFactory())

    member_first = member_client.get(post.url)
    anonymous = client.get(post.url)
    member_again = member_client.get(post.url)

    assert SECRET in member_first.content.decode()
    assert HIT_HEADER not in member_first
    assert "private" in member_first["Cache-Control"]
    assert anonymous[HIT_HEADER] == "miss"  # the member's visit stored nothing
    assert SECRET not in anonymous.content.decode()
    # ...and the anonymous copy now cached is not what the member gets.
    assert HIT_HEADER not in member_again
    assert SECRET in member_again.content.decode()


def test_logged_in_reader_never_gets_the_cached_anonymous_page(client):
    post = make_post(title="Survey", members_only=True)
    client.get(post.url)
    assert client.get(post.url)[HIT_HEADER] == "hit"

    client.force_login(MemberFactory())
    response = client.get(post.url)

    assert HIT_HEADER not in response
    assert SECRET in response.content.decode()


def test_a_response_that_sets_a_cookie_is_not_stored(client, settings):
    post = make_post()
    client.cookies.load({"messages": "x"})

    response = client.get(post.url)

    assert HIT_HEADER not in response
    client.cookies.pop("messages")
    assert client.get(post.url)[HIT_HEADER] == "miss"


def test_publishing_a_post_refreshes_the_cached_index_and_feed(
    client, django_capture_on_commit_callbacks
):
    index = make_index()
    make_post(title="First article")
    client.get(index.url)
    client.get(index.url + "feed/rss/")
    assert client.get(index.url)[HIT_HEADER] == "hit"

    with django_capture_on_commit_callbacks(execute=True):
        make_post(title="Second article")

    index_page = client.get(index.url)
    feed = client.get(index.url + "feed/rss/")
    assert index_page[HIT_HEADER] == "miss" and "Second article" in index_page.content.decode()
    assert "Second article" in feed.content.decode()


def test_unpublishing_removes_the_post_from_cached_pages(
    client, django_capture_on_commit_callbacks
):
    index = make_index()
    post = make_post(title="Withdrawn article")
    client.get(index.url)
    client.get(post.url)

    with django_capture_on_commit_callbacks(execute=True):
        post.unpublish()

    assert "Withdrawn article" not in client.get(index.url).content.decode()
    assert client.get(post.url).status_code == 404


def test_moving_a_post_refreshes_cached_pages(client, django_capture_on_commit_callbacks):
    from blog.models import BlogIndexPage

    index = make_index()
    post = make_post(title="Moving article")
    client.get(index.url)
    old_url = post.url
    assert client.get(old_url).status_code == 200
    other = BlogIndexPage(title="Archive", slug="archive")
    index.get_parent().add_child(instance=other)
    other.save_revision().publish()
    BlogIndexPage.max_count = None  # a second index only for this move

    try:
        with django_capture_on_commit_callbacks(execute=True):
            post.move(other, pos="last-child")
    finally:
        BlogIndexPage.max_count = 1

    assert "Moving article" not in client.get(index.url).content.decode()
    # Wagtail leaves a redirect at the old address; the cached page is gone.
    moved = client.get(old_url)
    assert moved.status_code == 301 and moved["Location"] == "/archive/" + post.slug + "/"


def test_search_results_are_not_cached(client):
    index = make_index()
    make_post(title="Infusion chairs")

    client.get(index.url + "search/", {"q": "infusion"})
    response = client.get(index.url + "search/", {"q": "infusion"})

    assert HIT_HEADER not in response
