"""The association is configuration: its names come from settings, its look from the site's
NavigationSettings, and no product code names the demo's association."""

import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import RequestFactory, override_settings
from wagtail.models import Page, Site

from portal.cache import content_changed
from portal.mail import render_email
from portal.models import HomePage, NavigationSettings
from portal.views import server_error
from tests.blog.factories import make_image, make_index, make_post
from tests.conftest import second_factor_client
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
OTHER = {
    "ASSOCIATION_NAME": "Guild of Orchard Keepers",
    "ASSOCIATION_SHORT_NAME": "GOK",
    "WAGTAIL_SITE_NAME": "GOK",
    "DEFAULT_FROM_EMAIL": "GOK <hello@orchards.example>",
    "ACCOUNT_EMAIL_SUBJECT_PREFIX": "[GOK] ",
}
# The demo association's names and addresses ("NORMAL" and the like are other words).
DEMO_NAMES = re.compile(r"\bNORM\b|norm\.local|Rheumatology")
# Until the payments branch of #11 is merged: it moves code out of membership/tasks.py, whose
# notice subjects name NORM (seven lines), so they were left for after the merge.


def _demo_names(text: str) -> list[str]:
    return DEMO_NAMES.findall(text)


@pytest.fixture
def orchard_site():
    """A site with content of its own (not the demo's): a home page and an article."""
    root = Page.get_first_root_node()
    home = HomePage(title="Home", slug="orchards", hero_title="Grow better apples.")
    root.add_child(instance=home)
    home.save_revision().publish()
    site = Site.objects.get(is_default_site=True)
    site.root_page = home
    site.save()
    index = make_index()
    home.articles_index = index
    home.save_revision().publish()
    return make_post(title="Pruning in winter", members_only=True)


@override_settings(**OTHER)
def test_pages_and_mail_name_the_configured_association_and_never_the_demo(client, orchard_site):
    pages = {
        "home": client.get("/"),
        "article": client.get(orchard_site.url),
        "login": client.get("/accounts/login/"),
        "join": client.get("/membership/join/"),
        "membership": client.get("/membership/"),
    }
    member_client = second_factor_client(MemberFactory())
    pages["account"] = member_client.get("/membership/account/")

    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        assert _demo_names(html) == [], name
        assert "rheumatology" not in html.lower(), name
        assert "GOK" in html, name
    assert "Guild of Orchard Keepers" in pages["home"].content.decode()
    assert "for GOK members" in pages["article"].content.decode()
    assert "Belong to the Guild of Orchard Keepers" in pages["membership"].content.decode()

    message = render_email(
        template="membership/email/welcome",
        subject="Welcome",
        to=["maria@example.org"],
        context={"user": MemberFactory(), "plan": {"name": "Individual"}},
    )
    message.send()
    sent = mail.outbox[-1]
    html = sent.alternatives[0][0]
    for part in (sent.from_email, sent.body, html):
        assert _demo_names(part) == []
    assert sent.from_email == "GOK <hello@orchards.example>"
    assert "Welcome to GOK." in sent.body
    assert "Guild of Orchard Keepers" in sent.body
    assert "Guild of Orchard Keepers" in html


def _lines_naming_the_demo(paths):
    for path in paths:
        if path.name == "demo.py" or "migrations" in path.parts or not path.is_file():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _demo_names(line):
                yield path.relative_to(ROOT).as_posix(), f"{number}: {line.strip()}"


def test_product_code_does_not_name_the_demo_association():
    """Only the demo's loaders and names (the demo.py modules), migrations and tests say NORM."""
    code = [
        path
        for app in (
            "portal",
            "blog",
            "membership",
            "conferences",
            "discussions",
            "elections",
            "payments",
            "devtools",
        )
        for path in (ROOT / app).rglob("*")
        if path.suffix in {".py", ".html", ".txt", ".css", ".js", ".svg"}
    ]
    found: dict[str, list[str]] = {}
    for name, line in _lines_naming_the_demo([*code, *(ROOT / "templates").rglob("*")]):
        found.setdefault(name, []).append(line)
    assert found == {}


@override_settings(**OTHER)
def test_the_server_error_page_names_the_configured_association(client):
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    html = response.content.decode()
    assert "<title>Something went wrong · GOK</title>" in html
    assert _demo_names(html) == []


def _brand(**fields) -> NavigationSettings:
    brand = NavigationSettings.for_site(Site.objects.get(is_default_site=True))
    for name, value in fields.items():
        setattr(brand, name, value)
    brand.save()
    return brand


def test_brand_colours_logo_and_social_links_show_and_a_change_shows_at_once(client, orchard_site):
    logo = make_image("Orchard logo")
    _brand(
        brand_colour="#2a7a3b",
        accent_colour="#e0a020",
        logo=logo,
        social_links=[("link", {"label": "Mastodon", "url": "https://orchards.example/@gok"})],
    )

    html = client.get("/").content.decode()
    assert 'style="--brand: #2a7a3b; --brand-dark: #1e572a; --brand-tint: #eaf2eb; ' in html
    assert "--accent: #e0a020; --accent-dark: #ca901d" in html
    assert f'src="{logo.get_rendition("height-80").url}"' in html
    assert "portal/img/logo.svg" not in html
    footer = html[html.index('class="site-footer__social"') :]
    assert 'href="https://orchards.example/@gok' in footer
    assert 'rel="me">Mastodon</a>' in footer

    _brand(brand_colour="#112233", logo=None)  # the anonymous page above is in the page cache

    html = client.get("/").content.decode()
    assert "--brand: #112233;" in html
    assert "#2a7a3b" not in html
    assert "portal/img/logo.svg" in html


def test_no_brand_keeps_the_stylesheet_palette_and_logo(client, orchard_site):
    html = client.get(orchard_site.url).content.decode()

    assert "--brand" not in html
    assert "portal/img/logo.svg" in html


def test_a_colour_that_is_not_hex_is_refused_and_never_reaches_the_page(client, orchard_site):
    brand = NavigationSettings.for_site(Site.objects.get(is_default_site=True))
    brand.brand_colour = "red;x:y"
    with pytest.raises(ValidationError):
        brand.full_clean()
    # Written around the validator, within the column's seven characters.
    NavigationSettings.objects.filter(pk=brand.pk).update(brand_colour='#f"><b>')
    content_changed()

    html = client.get("/").content.decode()
    assert '"><b>' not in html
    assert "--brand" not in html
