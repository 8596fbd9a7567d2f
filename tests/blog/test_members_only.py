"""A members-only body reaches active members (and the editors previewing it), nobody else:
not through the page, the feeds, search, the sitemap, previews or an API."""

import pytest
from django.urls import reverse

from membership.models import Membership
from tests.blog.factories import SECRET, make_index, make_post
from tests.conftest import second_factor_client
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked_post():
    return make_post(
        title="Salary survey highlights",
        intro="Staffing ratios and pay from 214 practices.",
        members_only=True,
        tags=["Benchmarking"],
    )


def test_anonymous_reader_sees_title_intro_and_join_call_but_never_the_body(client, locked_post):
    html = client.get(locked_post.url).content.decode()

    assert "Salary survey highlights" in html
    assert "Staffing ratios and pay from 214 practices." in html
    assert "The rest of this article is for NORM members" in html
    assert 'href="/membership/join/"' in html
    assert "Log in" in html
    assert SECRET not in html
    assert "People stay where they are thanked." not in html  # the quote block too


@pytest.mark.parametrize("state", ["lapsed", "non-member"])
def test_lapsed_and_non_members_never_see_the_body(client, locked_post, state):
    if state == "lapsed":
        user = MemberFactory(membership__state=Membership.State.LAPSED)
    else:
        user = UserFactory()
    client.force_login(user)

    html = client.get(locked_post.url).content.decode()

    assert SECRET not in html
    assert "The rest of this article is for NORM members" in html


def test_active_member_reads_the_whole_body(client, locked_post):
    client.force_login(MemberFactory())

    html = client.get(locked_post.url).content.decode()

    assert SECRET in html
    assert "The rest of this article is for NORM members" not in html


def test_feeds_leave_members_only_posts_out(client, locked_post):
    index = make_index()
    make_post(title="Open article")

    for feed in ("feed/rss/", "feed/atom/"):
        body = client.get(index.url + feed).content.decode()
        assert "Open article" in body
        assert "Salary survey highlights" not in body
        assert SECRET not in body


def test_search_never_matches_or_quotes_a_members_only_body(client, locked_post):
    index = make_index()

    by_body = client.get(index.url + "search/", {"q": "Zanzibarquux"}).content.decode()
    by_title = client.get(index.url + "search/", {"q": "salary"}).content.decode()

    assert "No articles match" in by_body
    assert "Salary survey highlights" not in by_body.split("Latest articles")[0]
    assert "<mark>Salary</mark> survey highlights" in by_title
    assert SECRET not in by_title and SECRET not in by_body


def test_search_for_a_member_still_shows_no_body_excerpt(client, locked_post):
    # Even members get title and intro only in results: excerpts come from the public index.
    client.force_login(MemberFactory())

    html = client.get(make_index().url + "search/", {"q": "salary"}).content.decode()

    assert SECRET not in html


@pytest.mark.parametrize("who", ["anonymous", "non-member", "member"])
def test_preview_and_draft_links_are_closed_to_readers(client, locked_post, who):
    if who == "non-member":
        client.force_login(UserFactory())
    elif who == "member":
        client.force_login(MemberFactory())
    urls = [
        reverse("wagtailadmin_pages:preview_on_edit", args=[locked_post.pk]),
        reverse("wagtailadmin_pages:view_draft", args=[locked_post.pk]),
        reverse("wagtailadmin_pages:revisions_view", args=[locked_post.pk, 1]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in {302, 403}, url
        assert SECRET not in response.content.decode()


def test_editor_preview_shows_the_body(client, locked_post):
    from django.contrib.auth.models import Group

    editor = UserFactory()
    editor.groups.add(Group.objects.get(name="Editors"))
    second_factor_client(editor, client)

    response = client.get(reverse("wagtailadmin_pages:view_draft", args=[locked_post.pk]))

    assert response.status_code == 200
    assert SECRET in response.content.decode()


def test_no_content_api_is_exposed(client, locked_post):
    for url in ("/api/v2/pages/", f"/api/v2/pages/{locked_post.pk}/", "/api/pages/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert SECRET not in response.content.decode()


def test_meta_description_and_social_cards_use_the_intro_not_the_body(client, locked_post):
    head = client.get(locked_post.url).content.decode().split("</head>")[0]

    assert 'content="Staffing ratios and pay from 214 practices."' in head
    assert SECRET not in head
