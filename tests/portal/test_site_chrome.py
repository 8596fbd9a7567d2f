"""The site's chrome on every page: its address in absolute links, a description, a logo link
named by what it shows, a phone menu closed from the first paint, and Wagtail's user bar only
on pages from the page tree."""

import io

import pytest
from django.core.management import CommandError, call_command
from wagtail.models import Site

from portal.sites import host_and_port
from tests.blog.factories import make_index, make_post
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://portal.example.org", ("portal.example.org", 443)),
        ("http://127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("https://portal.example.org:8443/", ("portal.example.org", 8443)),
    ],
)
def test_host_and_port_follow_the_scheme(url, expected):
    assert host_and_port(url) == expected


def test_set_site_url_points_canonical_links_feeds_and_sitemap_at_site_url(client, settings):
    settings.SITE_URL = "https://portal.example.org"
    index = make_index()
    post = make_post(title="Prior authorization workflow")

    out = io.StringIO()
    call_command("set_site_url", stdout=out)
    call_command("set_site_url", stdout=out)  # a second run changes nothing

    site = Site.objects.get(is_default_site=True)
    assert (site.hostname, site.port) == ("portal.example.org", 443)
    html = client.get(post.url).content.decode()
    assert f'<link rel="canonical" href="https://portal.example.org{post.url}">' in html
    assert f'<meta property="og:url" content="https://portal.example.org{post.url}">' in html
    rss = client.get(index.url + "feed/rss/").content.decode()
    assert f"<link>https://portal.example.org{post.url}</link>" in rss
    sitemap = client.get("/sitemap.xml").content.decode()
    assert f"<loc>https://portal.example.org{post.url}</loc>" in sitemap
    assert "localhost" not in html + rss + sitemap


def test_set_site_url_refuses_an_address_that_is_not_http():
    with pytest.raises(CommandError):
        call_command("set_site_url", "ftp://example.org", stdout=io.StringIO())


def test_feeds_link_to_themselves_at_an_address_that_answers(client):
    index = make_index()
    make_post(title="Denials")

    for name, content_type in (("rss", "application/rss+xml"), ("atom", "application/atom+xml")):
        body = client.get(f"{index.url}feed/{name}/").content.decode()
        self_link = f'href="http://localhost{index.url}feed/{name}/" rel="self"'
        assert self_link in body, body[:400]
        assert client.get(f"{index.url}feed/{name}/")["Content-Type"].startswith(content_type)


@pytest.mark.parametrize("path", ["/", "/articles/", "/discussions/", "/accounts/login/"])
def test_every_page_has_a_description_and_a_logo_link_named_by_its_text(client, demo_site, path):
    html = client.get(path, follow=True).content.decode()

    assert '<meta name="description" content="' in html
    assert '<meta name="description" content="">' not in html
    assert 'aria-label="NORM home"' not in html
    assert '<a class="brand" href="/">' in html


def test_the_phone_menu_is_closed_by_stylesheet_with_a_fallback_without_script(client, demo_site):
    html = client.get("/").content.decode()
    assert '<noscript><link rel="stylesheet" href="/static/portal/css/nojs.css"></noscript>' in html


def test_staff_get_the_user_bar_on_cms_pages_only(client):
    from django.contrib.auth.models import Group

    editor = UserFactory()
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    post = make_post(title="Open article")

    assert "wagtail-userbar" in client.get(post.url).content.decode()
    for path in ("/discussions/", "/membership/account/"):
        response = client.get(path, follow=True)
        assert "wagtail-userbar" not in response.content.decode(), path


def test_the_demo_site_answers_at_site_url(demo_site, settings):
    site = Site.objects.get(is_default_site=True)
    assert (site.hostname, site.port) == host_and_port(settings.SITE_URL)
