import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_home_page_in_chromium_shows_testimonials_and_article_link(browser_page, demo_site):
    page = browser_page
    page.goto("/")

    assert page.get_by_role("heading", level=1).inner_text() == (
        "Run a better rheumatology practice, together."
    )
    testimonials = page.locator("figure.testimonial")
    assert testimonials.count() == 3
    assert "Blue Ridge Arthritis Associates" in testimonials.first.inner_text()
    screenshot(page, "home-desktop")

    page.get_by_role(
        "link", name="Eight Qualities and Skills Medical Office Managers Must Have"
    ).click()
    page.wait_for_url("**/articles/eight-qualities-and-skills-medical-office-managers-must-have/")
    expect(page.get_by_role("heading", name="8. Diligent")).to_be_visible()


def test_home_page_fits_a_360px_phone_and_menu_opens(browser_page, demo_site):
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than a 360px screen"
    nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Articles")
    expect(nav_link).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav_link).to_be_visible()
    screenshot(page, "home-mobile-menu")
