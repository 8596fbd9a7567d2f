"""The site's chrome is cached per reader kind, never per person: who may use the admin and
which pages are restricted are remembered, and forgotten the moment they change."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import PageViewRestriction

from tests.blog.factories import SECRET, make_post
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db

USERBAR = "wagtail-userbar"


@pytest.fixture
def locked_post():
    return make_post(title="Salary survey highlights", members_only=True)


def test_editor_loses_user_bar_and_members_only_bodies_when_removed_from_editors(
    client, locked_post
):
    editor = UserFactory()
    editors = Group.objects.get(name="Editors")
    editor.groups.add(editors)
    client.force_login(editor)
    html = client.get(locked_post.url).content.decode()
    assert USERBAR in html
    assert SECRET in html

    editor.groups.remove(editors)

    html = client.get(locked_post.url).content.decode()
    assert USERBAR not in html
    assert SECRET not in html


def test_group_losing_admin_access_takes_it_from_every_member_of_the_group(client, locked_post):
    editor = UserFactory()
    editors = Group.objects.get(name="Editors")
    editor.groups.add(editors)
    client.force_login(editor)
    assert SECRET in client.get(locked_post.url).content.decode()

    editors.permissions.remove(Permission.objects.get(codename="access_admin"))

    try:
        html = client.get(locked_post.url).content.decode()
        assert USERBAR not in html
        assert SECRET not in html
    finally:
        editors.permissions.add(Permission.objects.get(codename="access_admin"))


def test_members_never_get_the_user_bar_nor_pay_queries_for_it(client):
    post = make_post(title="Open article")
    client.force_login(MemberFactory())
    # The first view creates the site's navigation settings row, which starts a generation.
    client.get(post.url)
    client.get(post.url)

    with CaptureQueriesContext(connection) as queries:
        html = client.get(post.url).content.decode()

    assert USERBAR not in html
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "auth_permission" not in sql
    assert "wagtailcore_site" not in sql
    assert "wagtailcore_pageviewrestriction" not in sql
    assert len(queries.captured_queries) <= 3  # session user, the post, and one spare


def test_a_new_view_restriction_applies_to_the_next_request(client):
    post = make_post(title="Board minutes")
    assert client.get(post.url).status_code == 200

    PageViewRestriction.objects.create(page=post, restriction_type=PageViewRestriction.LOGIN)

    response = client.get(post.url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
