import os

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from blog.demo import SEED_TITLE
from blog.models import Author, BlogPostPage

pytestmark = pytest.mark.django_db


def test_demo_has_the_seed_article_and_five_more_one_members_only(demo_site, client):
    seed = BlogPostPage.objects.get(title=SEED_TITLE)

    assert seed.category.name == "Practice management"
    assert {"Leadership", "Practice management"} <= set(seed.tags.names())
    assert seed.featured_image and seed.featured_alt
    assert [link.author.name for link in seed.post_authors.all()] == ["Karen Whitfield"]
    assert seed.body[0].value == "What is a medical office manager?"
    assert BlogPostPage.objects.live().count() == 6
    assert BlogPostPage.objects.filter(members_only=True).count() == 1
    assert all(author.photo for author in Author.objects.all())
    assert "8. Diligent" in client.get(seed.url).content.decode()


def test_demo_editor_and_moderator_are_in_their_groups(demo_site):
    users = get_user_model().objects
    assert users.get(email="editor@norm.local").groups.filter(name="Editors").exists()
    assert users.get(email="moderator@norm.local").groups.filter(name="Moderators").exists()


def test_loading_the_demo_again_adds_no_articles(demo_site):
    before = (BlogPostPage.objects.count(), Author.objects.count())

    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert (BlogPostPage.objects.count(), Author.objects.count()) == before
