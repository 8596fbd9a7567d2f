"""The admin speaks of articles, and a new article starts signed by its editor."""

import re

import pytest
from django.contrib.auth.models import Group

from blog.models import BlogPostPage
from tests.blog.factories import make_author, make_index, make_post
from tests.conftest import second_factor_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def chosen_author(html: str) -> str | None:
    """The author the first byline row's chooser holds."""
    field = re.search(r'<input[^>]*name="post_authors-0-author"[^>]*>', html)
    value = re.search(r'value="([^"]*)"', field.group(0)) if field else None
    return value.group(1) if value else None


@pytest.fixture
def editor():
    user = UserFactory(first_name="Evan", last_name="Brooks")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def test_the_admin_calls_a_post_an_article(client, editor):
    index = make_index()
    second_factor_client(editor, client)

    page = client.get(f"/admin/pages/{index.pk}/add_subpage/", follow=True).content.decode()
    add = client.get(f"/admin/pages/add/blog/blogpostpage/{index.pk}/").content.decode()

    assert BlogPostPage._meta.verbose_name == "article"
    assert "Blog post page" not in page + add
    assert "<title>New: Article - Wagtail</title>" in add


def test_a_new_article_is_signed_by_the_editors_author_profile(client, editor):
    index = make_index()
    mine = make_author("Evan Brooks", user=editor)
    make_author("Someone Else")
    second_factor_client(editor, client)

    html = client.get(f"/admin/pages/add/blog/blogpostpage/{index.pk}/").content.decode()

    assert 'name="post_authors-TOTAL_FORMS" value="1"' in html
    assert chosen_author(html) == str(mine.pk)


def test_an_existing_article_keeps_its_byline(client, editor):
    make_author("Evan Brooks", user=editor)
    other = make_author("Karen Whitfield")
    post = make_post(title="Hiring well", authors=[other])
    second_factor_client(editor, client)

    html = client.get(f"/admin/pages/{post.pk}/edit/").content.decode()

    assert 'name="post_authors-TOTAL_FORMS" value="1"' in html
    assert chosen_author(html) == str(other.pk)


def test_an_editor_without_a_profile_starts_with_no_byline(client, editor):
    index = make_index()
    make_author("Someone Else")
    second_factor_client(editor, client)

    html = client.get(f"/admin/pages/add/blog/blogpostpage/{index.pk}/").content.decode()

    assert 'name="post_authors-TOTAL_FORMS" value="0"' in html
