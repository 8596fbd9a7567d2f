"""Previews and "View draft" show the draft, never the live page's cached fragments.

The article's body, intro and heading are rendered once per live revision and kept (the
`{% cache %}` fragments in templates/blog/blog_post_page.html); a draft shares the live page's
id and revision, so a preview that read those fragments showed the live article. The draft's
change is put where only those fragments show it, the intro, so the title in the page's
<title> (never cached) cannot make a broken preview pass.
"""

import pytest
from django.test import Client

from blog.models import BlogIndexPage, BlogPostPage
from tests.conftest import second_factor_client
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

DRAFT_INTRO = "An intro nobody has published yet"


@pytest.fixture
def staff():
    client = Client()
    second_factor_client(StaffFactory(is_superuser=True), client)
    return client


def _draft(page, **changes):
    draft = type(page).objects.get(pk=page.pk).get_latest_revision_as_object()
    for name, value in changes.items():
        setattr(draft, name, value)
    draft.save_revision()


def _visit_live(page, staff):
    """The live page, seen by a reader and by the staff member, is now in the caches."""
    assert page.intro in Client().get(page.url).content.decode()
    assert page.intro in staff.get(page.url).content.decode()


def _live_unchanged(page, staff):
    for client in (Client(), staff):
        body = client.get(page.url).content.decode()
        assert DRAFT_INTRO not in body
        assert page.intro in body


def test_view_draft_shows_the_draft_while_the_live_page_is_cached(demo_site, staff):
    post = BlogPostPage.objects.live().public().first()
    _draft(post, intro=DRAFT_INTRO)
    _visit_live(post, staff)

    response = staff.get(f"/admin/pages/{post.pk}/view_draft/")

    assert response.status_code == 200
    assert DRAFT_INTRO in response.content.decode()
    assert post.intro not in response.content.decode()
    _live_unchanged(post, staff)


def test_preview_shows_the_draft_while_the_live_page_is_cached(demo_site, staff, rf):
    post = BlogPostPage.objects.live().public().first()
    _visit_live(post, staff)
    draft = BlogPostPage.objects.get(pk=post.pk)
    draft.intro = DRAFT_INTRO  # the edit form's unsaved change, as the preview panel sends it
    request = rf.get(f"/admin/pages/{post.pk}/edit/preview/")
    request.user = StaffFactory(is_superuser=True)

    response = draft.make_preview_request(request, draft.default_preview_mode)

    assert response.status_code == 200
    assert DRAFT_INTRO in response.content.decode()
    _live_unchanged(post, staff)


def test_view_draft_of_an_articles_index_shows_the_draft(demo_site, staff):
    index = BlogIndexPage.objects.live().public().first()
    _draft(index, intro=DRAFT_INTRO)
    _visit_live(index, staff)

    response = staff.get(f"/admin/pages/{index.pk}/view_draft/")

    assert response.status_code == 200
    assert DRAFT_INTRO in response.content.decode()
    _live_unchanged(index, staff)
