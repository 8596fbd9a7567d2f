import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.models import HomePage, Testimonial
from tests.factories import TestimonialFactory

pytestmark = pytest.mark.django_db


def test_home_page_shows_hero_offers_testimonials_and_latest_article(client, demo_site):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Run a better rheumatology practice, together." in html
    for offer in ("Membership benefits", "Become a member", "Annual conference"):
        assert offer in html
    assert "Denise Carter" in html
    assert "Eight Qualities and Skills Medical Office Managers Must Have" in html
    assert 'href="/articles/eight-qualities-and-skills-medical-office-managers-must-have/"' in html


def test_home_page_hides_testimonials_staff_switched_off(client, demo_site):
    testimonial = Testimonial.objects.get(name="Denise Carter")
    testimonial.is_shown = False
    testimonial.save()

    assert "Denise Carter" not in client.get("/").content.decode()


def test_home_page_query_count_does_not_grow_with_testimonials(
    client, demo_site, django_assert_max_num_queries
):
    client.get("/")  # warm Wagtail's site and settings lookups
    TestimonialFactory.create_batch(10)
    with django_assert_max_num_queries(12):
        client.get("/")


def test_load_demo_twice_creates_nothing_new(demo_site):
    counts = (HomePage.objects.count(), Testimonial.objects.count())

    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert (HomePage.objects.count(), Testimonial.objects.count()) == counts == (1, 3)


def test_load_demo_refuses_outside_demo_mode(settings):
    settings.DEMO_MODE = False

    with pytest.raises(CommandError, match="DEMO_MODE"):
        call_command("load_demo")


def test_robots_txt_points_to_sitemap(client, demo_site):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in response.content.decode()
    assert client.get("/sitemap.xml").status_code == 200


def test_unknown_page_gets_a_helpful_404(client, demo_site):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "We can't find that page" in response.content.decode()


@pytest.mark.parametrize("reader", ["anonymous", "member"])
def test_home_page_stays_within_ten_queries_built_from_scratch(
    client, demo_site, reader, django_assert_max_num_queries, settings
):
    from portal.cache import content_changed
    from tests.factories import MemberFactory

    settings.PAGE_CACHE_ENABLED = False  # measure building the page, not replaying it
    if reader == "member":
        client.force_login(MemberFactory())
    client.get("/")
    content_changed()
    with django_assert_max_num_queries(10):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(2):
        client.get("/")
