import re

import pytest

from blog.models import BlogPostPage
from tests.blog.factories import (
    SECRET,
    make_author,
    make_category,
    make_image,
    make_index,
    make_post,
)

pytestmark = pytest.mark.django_db


def test_post_page_shows_title_authors_tags_reading_time_and_body(client):
    author = make_author("Karen Whitfield", role="Practice Administrator", bio="Twenty years.")
    post = make_post(
        title="Hiring well", subtitle="Temperament first", authors=[author], tags=["Staffing"]
    )

    html = client.get(post.url).content.decode()

    assert '<h1 id="post-title">Hiring well</h1>' in html
    assert "Temperament first" in html
    assert "Karen Whitfield" in html and "Practice Administrator" in html
    assert "1 min read" in html
    assert SECRET in html
    assert '<h2 id="why-it-matters">Why it matters</h2>' in html
    assert "People stay where they are thanked." in html
    assert 'href="/articles/?tag=staffing"' in html


def test_post_page_lists_related_posts_sharing_a_tag_or_the_category(client):
    category = make_category("Compliance")
    post = make_post(title="Audits", tags=["Billing"])
    by_tag = make_post(title="Denials", tags=["Billing"])
    by_category = make_post(title="Records", category=category)
    post.category = category
    post.save_revision().publish()
    make_post(title="Unrelated", tags=["Golf"])

    html = client.get(post.url).content.decode()
    related = html.split('id="related-title"')[1]

    assert by_tag.title in related and by_category.title in related
    assert "Unrelated" not in related


def test_featured_and_body_images_are_responsive_with_webp_sizes_and_alt(client):
    hero = make_image("Hero", size=(1600, 900))
    chart = make_image("Chart", size=(1600, 900))
    post = make_post(
        featured_image=hero,
        featured_image_alt="Rising bars",
        body=[("image", {"image": chart, "alt_text": "A rising chart", "caption": "Approvals"})],
    )

    html = client.get(post.url).content.decode()
    pictures = re.findall(r"<picture>.*?</picture>", html, re.S)
    hero_html = next(p for p in pictures if "Rising bars" in p)
    body_html = next(p for p in pictures if "A rising chart" in p)

    for picture in (hero_html, body_html):
        assert 'type="image/webp"' in picture
        assert re.search(r'srcset="[^"]+ \d+w, [^"]+ \d+w', picture)
        assert re.search(r'width="\d+"', picture) and re.search(r'height="\d+"', picture)
    assert 'loading="lazy"' in body_html
    assert 'loading="lazy"' not in hero_html  # above the fold
    assert "<figcaption>Approvals</figcaption>" in html


def test_featured_image_needs_alt_text_unless_the_image_has_a_description():
    from django.core.exceptions import ValidationError

    post = BlogPostPage(title="T", slug="t", intro="i", featured_image=make_image(description=""))
    with pytest.raises(ValidationError, match="Describe the image"):
        post.clean()
    post.featured_image_alt = "Blue square"
    post.clean()


def test_image_block_requires_alt_text():
    from wagtail.blocks import StructBlockValidationError

    block = BlogPostPage.body.field.stream_block.child_blocks["image"]
    value = block.to_python({"image": make_image().pk, "alt_text": "", "caption": ""})
    with pytest.raises(StructBlockValidationError):
        block.clean(value)


def test_post_page_has_canonical_description_and_social_cards(client):
    post = make_post(title="Audits", intro="How to get ready.", featured_image=make_image())

    html = client.get(post.url).content.decode()

    assert f'<link rel="canonical" href="http://localhost{post.url}">' in html
    assert '<meta name="description" content="How to get ready.">' in html
    assert '<meta property="og:title" content="Audits">' in html
    assert '<meta property="og:type" content="article">' in html
    assert re.search(r'<meta property="og:image" content="https?://[^/"]+/media/[^"]+">', html)
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_index_lists_newest_first_and_paginates(client):
    import datetime

    index = make_index()
    for day in range(1, 12):
        make_post(title=f"Day {day:02}", date=datetime.date(2026, 1, day))

    first = client.get(index.url).content.decode()
    second = client.get(index.url + "?page=2").content.decode()

    assert first.index("Day 11") < first.index("Day 03")
    assert "Day 02" not in first and "Day 02" in second
    assert "Page 1 of 2" in first


def test_index_filters_by_category_and_tag(client):
    index = make_index()
    make_post(title="Coding rules", category=make_category("Revenue cycle"))
    make_post(title="Team morale", tags=["Leadership"])

    by_category = client.get(index.url + "?category=revenue-cycle").content.decode()
    by_tag = client.get(index.url + "?tag=leadership").content.decode()
    unknown = client.get(index.url + "?category=nope").content.decode()

    assert "Coding rules" in by_category and "Team morale" not in by_category
    assert "Team morale" in by_tag and "Coding rules" not in by_tag
    assert "No articles here yet" in unknown


@pytest.mark.parametrize("reader", ["anonymous", "member"])
def test_index_rendered_for_one_filter_is_never_shown_for_another(client, reader):
    # The index's list is kept rendered per filter and page; an unknown category (which lists
    # nothing) must not be kept under the unfiltered index's key, nor the other way round.
    from tests.factories import MemberFactory

    if reader == "member":
        client.force_login(MemberFactory())
    index = make_index()
    make_post(title="Coding rules", category=make_category("Revenue cycle"))
    make_post(title="Team morale", tags=["Leadership"])

    assert "No articles here yet" in client.get(index.url + "?category=nope").content.decode()
    assert "No articles here yet" in client.get(index.url + "?tag=nope").content.decode()
    everything = client.get(index.url).content.decode()
    assert "Coding rules" in everything and "Team morale" in everything
    assert "Team morale" not in client.get(index.url + "?category=revenue-cycle").content.decode()
    assert "Coding rules" in client.get(index.url + "?page=abc").content.decode()


def test_rss_and_atom_feeds_list_public_posts_with_links(client):
    index = make_index()
    make_post(title="Prior authorization workflow", authors=[make_author("David Osei")])

    rss = client.get(index.url + "feed/rss/")
    atom = client.get(index.url + "feed/atom/")

    assert rss.status_code == 200 and rss["Content-Type"].startswith("application/rss+xml")
    assert atom["Content-Type"].startswith("application/atom+xml")
    assert "<title>Prior authorization workflow</title>" in rss.content.decode()
    assert "David Osei" in rss.content.decode()
    assert "<title>Prior authorization workflow</title>" in atom.content.decode()
    assert "http://localhost/articles/post-" in atom.content.decode()


def test_search_highlights_matches_and_the_empty_result_helps(client):
    index = make_index()
    make_post(title="Managing infusion schedules", intro="Chairs full, patients on time.")

    found = client.get(index.url + "search/", {"q": "infusion"}).content.decode()
    missing = client.get(index.url + "search/", {"q": "xylophone"}).content.decode()

    assert "Managing <mark>infusion</mark> schedules" in found
    assert "No articles match “xylophone”" in missing
    assert "Check the spelling" in missing
    assert "Managing infusion schedules" in missing  # latest articles offered instead


def test_sitemap_lists_posts(client):
    post = make_post(title="Mapped")

    assert post.url in client.get("/sitemap.xml").content.decode()


@pytest.mark.parametrize(
    ("typed", "written"),
    [("authorisation", "authorization"), ("colour", "color"), ("program", "programme")],
)
def test_search_finds_the_other_spelling_of_a_word(client, typed, written):
    index = make_index()
    make_post(title=f"The {written} checklist", intro="What to send first.")
    make_post(title="Unrelated", intro="Nothing here.")

    found = client.get(index.url + "search/", {"q": f"{typed} checklist"}).content.decode()

    assert f"The <mark>{written}</mark> <mark>checklist</mark>" in found
    assert "Unrelated" not in found.split("blog-results", 1)[-1]


def test_index_explains_how_to_follow_new_articles_near_the_top(client):
    index = make_index()
    make_post(title="Denials")

    html = client.get(index.url).content.decode()

    follow = html.index("Follow new articles")
    assert follow < html.index("Denials")
    assert 'value="http://localhost/articles/feed/rss/"' in html
    assert "feed reader" in html
    assert client.get("/articles/feed/rss/").status_code == 200
