"""Previews and "View draft" show the draft, never the live page's cached fragments."""

import pytest
from django.test import Client

from blog.models import BlogPostPage
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_view_draft_shows_the_draft_while_the_live_page_is_cached(demo_site):
    post = BlogPostPage.objects.live().public().first()
    live_title = post.title
    staff = Client()
    staff.force_login(StaffFactory(is_superuser=True))
    draft = BlogPostPage.objects.get(pk=post.pk).get_latest_revision_as_object()
    draft.title = "A draft title nobody has published"
    draft.save_revision()
    # The live page, seen since by a reader and by the staff member, is in the caches.
    assert live_title in Client().get(post.url).content.decode()
    assert live_title in staff.get(post.url).content.decode()

    response = staff.get(f"/admin/pages/{post.pk}/view_draft/")

    assert response.status_code == 200
    assert "A draft title nobody has published" in response.content.decode()
    # ... and the live page is still the live page, for readers and staff.
    assert "nobody has published" not in Client().get(post.url).content.decode()
    assert "nobody has published" not in staff.get(post.url).content.decode()
