"""Builders for article tests: an index under the site's root page, posts, authors, images."""

from __future__ import annotations

import io
import itertools

from django.core.files.images import ImageFile
from PIL import Image as PILImage
from wagtail.images import get_image_model
from wagtail.models import Page, Site

from blog.models import Author, BlogCategory, BlogIndexPage, BlogPostAuthor, BlogPostPage

_counter = itertools.count(1)

SECRET = "Zanzibarquux members-only findings"


def make_image(title: str = "", *, size=(320, 180), colour=(31, 78, 140), description="A chart"):
    buffer = io.BytesIO()
    PILImage.new("RGB", size, colour).save(buffer, "JPEG")
    buffer.seek(0)
    n = next(_counter)
    image = get_image_model()(title=title or f"Image {n}", description=description)
    image.file = ImageFile(buffer, name=f"test-{n}.jpg")
    image.save()
    return image


def make_index(**fields) -> BlogIndexPage:
    existing = BlogIndexPage.objects.first()
    if existing:
        return existing
    site = Site.objects.get(is_default_site=True)
    root = site.root_page if site.root_page.depth > 1 else Page.get_first_root_node()
    index = BlogIndexPage(title="Articles", slug="articles", intro="Practical advice.", **fields)
    root.add_child(instance=index)
    index.save_revision().publish()
    return index


def make_author(name: str = "", **fields) -> Author:
    return Author.objects.create(name=name or f"Author {next(_counter)}", **fields)


def make_category(name: str = "Practice management") -> BlogCategory:
    from django.utils.text import slugify

    return BlogCategory.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]


def default_body(secret: str = SECRET) -> list:
    return [
        ("heading", "Why it matters"),
        ("paragraph", f"<p>{secret} about staffing ratios and pay.</p><ul><li>One</li></ul>"),
        ("quote", {"quote": "People stay where they are thanked.", "attribution": "A manager"}),
    ]


def make_post(
    *,
    title: str = "",
    index: BlogIndexPage | None = None,
    authors: list[Author] | None = None,
    tags: list[str] | None = None,
    publish: bool = True,
    body: list | None = None,
    **fields,
) -> BlogPostPage:
    index = index or make_index()
    n = next(_counter)
    post = BlogPostPage(
        title=title or f"Post {n}",
        slug=f"post-{n}",
        intro=fields.pop("intro", f"The intro of post {n}."),
        body=body if body is not None else default_body(),
        **fields,
    )
    for order, author in enumerate(authors or []):
        post.post_authors.add(BlogPostAuthor(author=author, sort_order=order))
    if tags:
        post.tags.add(*tags)
    post.live = publish
    index.add_child(instance=post)
    revision = post.save_revision()
    if publish:
        revision.publish()
    post.refresh_from_db()
    return post
