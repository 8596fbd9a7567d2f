"""The admin dashboard's charts: drawn on the server as SVG, named for screen readers, with
their figures as a table, and no script."""

import re

import pytest
from django.utils import timezone

from portal.charts import figures_table, meters, month_starts, stacked_bars
from tests.conftest import second_factor_client
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_stacked_bars_scale_to_the_largest_row_and_escape_every_label():
    chart = stacked_bars(
        [("Jan <b>", [2, 2]), ("Feb", [1, 0])], title="Posts & <more>", series=["a", "b"]
    )
    svg = str(chart.svg)

    assert svg.startswith('<svg class="gh-chart" viewBox="0 0 400 ')
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert "Posts &amp; &lt;more&gt;" in svg and "Jan &lt;b&gt;" in svg
    widths = [
        float(w) for w in re.findall(r'<rect x="[\d.]+" y="\d+" width="([\d.]+)" height="14"', svg)
    ]
    assert widths[0] + widths[1] == pytest.approx(234) and widths[2] == pytest.approx(58.5)
    assert "<script" not in svg and "style=" not in svg
    table = str(figures_table(chart))
    assert "<summary>Show the figures</summary>" in table and "<td>4</td>" in table


def test_meters_say_how_full_each_row_is():
    svg = str(meters([("Seats", 30, 10, 100)], title="Seats", used="paid", held="held").svg)
    assert "40 of 100" in svg


def test_month_starts_cover_a_year_ending_this_month():
    starts = month_starts(12, today=timezone.datetime(2026, 3, 15).date())
    assert [s.strftime("%Y-%m") for s in (starts[0], starts[-1])] == ["2025-04", "2026-03"]


def test_the_dashboard_draws_every_panel_as_charts(client, demo_site):
    second_factor_client(StaffFactory(is_superuser=True), client)

    html = client.get("/admin/").content.decode()

    for title in (
        "Members by status, last 12 months",
        "Dues by month, net of refunds",
        "registrations against capacity",
        "Conference revenue by month, net of refunds",
        "Posts per week, last 12 weeks",
    ):
        assert title in html, title
    assert html.count('<svg class="gh-chart"') == 5
    assert "/static/portal/css/admin.css" in html
    headings = re.findall(r'<h2 class="w-panel__heading" id="(\w+)-panel-heading"', html)
    assert {"membership", "conference", "discussions"} <= set(headings)
