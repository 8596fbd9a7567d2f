"""The admin dashboard's charts in a browser: readable at desk and phone size, nothing wider
than the screen, and no axe-core violation inside the panels we draw."""

import pytest

from tests.conftest import SCREENSHOTS, screenshot, second_factor_client
from tests.e2e.page_checks import AXE, DESK, PHONE, describe, overflow_px
from tests.factories import StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def panel_violations(page) -> list[dict]:
    # Only our panels: Wagtail's own admin chrome is Wagtail's to keep sound.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await window.axe.run({include: [['.gh-panel']]}, "
        "{resultTypes: ['violations']})"
    )
    return result["violations"]


def test_dashboard_charts_read_on_a_desk_and_a_phone(browser_page, live_server, demo_site):
    client = second_factor_client(StaffFactory(is_superuser=True))
    page = browser_page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto("/admin/")
    assert page.locator("svg.gh-chart").count() == 5

    for size, suffix in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        violations = panel_violations(page)
        assert not violations, describe(violations)
        assert overflow_px(page) <= 0, f"the dashboard overflows at {size}"
        for n, chart in enumerate(page.locator("svg.gh-chart").all()):
            box = chart.bounding_box()
            assert box["width"] <= size["width"], (n, box)
        screenshot(page, f"admin-dashboard-{suffix}")
        for n, panel in enumerate(page.locator("section.gh-panel").all()):
            panel.screenshot(path=str(SCREENSHOTS / f"admin-panel-{n}-{suffix}.png"))
