"""A visitor reads, searches and follows, on a desk and a phone: every page passes
assert_page_sound (axe-core, no overflow) at both sizes and is kept as a screenshot."""

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot
from tests.e2e.page_checks import DESK, NARROW_PHONE, PHONE, assert_page_sound, overflow_px

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Counts every layout shift since navigation, as Lighthouse's CLS does (no input excluded
# here: the journey only clicks after measuring).
LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) total += entry.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve(total), 300);
})"""


def check_both_sizes(page, name):
    for size, suffix in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        assert_page_sound(page)
        screenshot(page, f"{name}-{suffix}")
    page.set_viewport_size(NARROW_PHONE)
    assert overflow_px(page) <= 0, f"{page.url} overflows a 360px phone"
    page.set_viewport_size(DESK)


def test_the_phone_menu_is_closed_from_the_first_paint(browser_page, demo_site):
    page = browser_page
    page.set_viewport_size(PHONE)
    page.goto("/")

    shift = page.evaluate(LAYOUT_SHIFT)
    assert shift < 0.01, f"layout shift {shift:.3f} on the home page"
    nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Articles")
    expect(nav_link).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav_link).to_be_visible()
    assert_page_sound(page)
    screenshot(page, "visitor-phone-menu-open")


def test_the_phone_menu_opens_without_script(chromium, live_server, demo_site):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_viewport_size(PHONE)
        page.goto("/")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Articles")).to_be_visible()
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    finally:
        context.close()


def test_visitor_reads_searches_and_follows(browser_page, demo_site):
    page = browser_page
    page.goto("/")
    check_both_sizes(page, "visitor-home")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Articles").click()
    page.wait_for_url("**/articles/")
    check_both_sizes(page, "visitor-articles")

    # Following is explained near the top, not a raw XML link at the bottom.
    follow = page.locator("details.blog-follow")
    follow.locator("summary").click()
    address = page.get_by_label("Feed address")
    expect(address).to_be_visible()
    feed_url = address.input_value()
    assert feed_url.endswith("/articles/feed/rss/")
    check_both_sizes(page, "visitor-articles-follow")
    path = "/" + feed_url.split("://", 1)[1].split("/", 1)[1]
    feed = page.request.get(path)
    assert feed.status == 200 and "<rss" in feed.text()
    assert "/articles/feed/rss/" in feed.text()

    page.locator(".article-card a").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_both_sizes(page, "visitor-article")

    page.goto("/articles/")
    page.get_by_role("searchbox").first.fill("authorisation")
    page.get_by_role("searchbox").first.press("Enter")
    page.wait_for_url("**/articles/search/**")
    expect(page.locator("mark").first).to_contain_text("authorization", ignore_case=True)
    check_both_sizes(page, "visitor-search")

    page.get_by_role("searchbox").first.fill("xylophone")
    page.get_by_role("searchbox").first.press("Enter")
    expect(page.get_by_role("heading", name="No articles match “xylophone”")).to_be_visible()
    check_both_sizes(page, "visitor-search-empty")
