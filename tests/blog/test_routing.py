"""The routing shortcut for article URLs answers exactly as Wagtail's own routing would."""

import pytest
from wagtail.models import PageViewRestriction

from tests.blog.factories import make_index, make_post

pytestmark = pytest.mark.django_db


def test_draft_and_unknown_posts_are_not_found(client):
    draft = make_post(title="Draft", publish=False)

    assert client.get(draft.url_path.replace("/home", "", 1)).status_code == 404
    assert client.get("/articles/no-such-post/").status_code == 404
    assert client.get("/articles/a/b/").status_code == 404


def test_a_view_restriction_still_applies_to_posts_and_the_index(client):
    index = make_index()
    post = make_post(title="Board minutes")
    PageViewRestriction.objects.create(page=post, restriction_type=PageViewRestriction.LOGIN)

    response = client.get(post.url)

    assert response.status_code == 302 and "login" in response["Location"]
    assert "Board minutes" not in client.get(index.url).content.decode()


def test_a_new_post_is_routed_at_once(client, django_capture_on_commit_callbacks):
    index = make_index()
    client.get(index.url)  # the shortcut now knows the index

    with django_capture_on_commit_callbacks(execute=True):
        post = make_post(title="Fresh")

    assert client.get(post.url).status_code == 200
