"""Charts for the admin dashboard, drawn on the server as SVG: no script, no CDN, no inline
style (colours come from classes in portal/static/portal/css/admin.css, so Wagtail's dark theme
applies too).

Every chart is horizontal bars, one row per month, list or ticket type: rows stack downwards
and the labels keep their size on a phone, where a 12-column chart's labels would shrink to
nothing. Each chart names itself to screen readers (role="img", <title>, <desc>) and comes with
its figures as a table (`chart.rows`) for the template to offer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count

from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 400
LABEL_W = 92
VALUE_W = 74
ROW_H = 22
BAR_H = 14
CHAR_W = 7.0  # a generous average width of a 12px character, for layout
LABEL_CHARS = 13  # what fits in LABEL_W
_ids = count(1)


@dataclass
class Chart:
    svg: SafeString
    title: str
    series: list[str]
    rows: list[tuple[str, list[str], str]]  # label, formatted values, formatted total
    top_y: int = 0  # where the first bar starts, below the legend
    row_h: int = 22  # from one bar to the next


def _text(x: float, y: float, text: str, css: str, anchor: str = "start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class="{css}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    series: Sequence[str],
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    total: Callable[[Sequence[float]], str] | None = None,
) -> Chart:
    """One bar per row, its segments the row's values in `series` order (chart-s1, -s2...)."""
    top = max((sum(values) for _, values in rows), default=0) or 1
    # Labels longer than the label column (session titles) go on a line of their own above
    # their bar, which then starts at the left edge: nothing is ever cut off.
    above = any(len(label) > LABEL_CHARS for label, _ in rows)
    bar_x = 0 if above else LABEL_W
    row_h = ROW_H + 14 if above else ROW_H
    bar_dy = 16 if above else 0
    bar_w = WIDTH - bar_x - VALUE_W
    # The legend wraps onto as many lines as the series' names need.
    legend, x, line = [], 0.0, 0
    if len(series) > 1:
        for n, name in enumerate(series, start=1):
            width = 26 + CHAR_W * len(name)
            if x and x + width > WIDTH:
                x, line = 0.0, line + 1
            legend.append((n, name, x, 4 + 18 * line))
            x += width
    top_y = 18 * (line + 1) + 6 if legend else 4
    height = top_y + row_h * max(len(rows), 1)
    chart_id = f"chart-{next(_ids)}"
    parts = [
        f'<svg class="gh-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
    ]
    described = []
    for n, name, lx, ly in legend:
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly}" width="10" height="10" rx="2" class="gh-chart__s{n}"/>'
        )
        parts.append(_text(lx + 14, ly + 9, name, "gh-chart__legend"))
    table = []
    for i, (label, values) in enumerate(rows):
        row_y = top_y + i * row_h
        y = row_y + bar_dy
        if above:
            parts.append(_text(0, row_y + 11, label, "gh-chart__label"))
        else:
            parts.append(_text(LABEL_W - 6, y + BAR_H - 3, label, "gh-chart__label", "end"))
        x = float(bar_x)
        for n, value in enumerate(values, start=1):
            w = bar_w * value / top
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1.5):.1f}" height="{BAR_H}" '
                    f'class="gh-chart__s{n}"><title>{escape(label)}, {escape(series[n - 1])}: '
                    f"{escape(fmt(value))}</title></rect>"
                )
            x += w
        shown = total(values) if total else fmt(sum(values))
        parts.append(_text(WIDTH - 2, y + BAR_H - 3, shown, "gh-chart__value", "end"))
        table.append((label, [fmt(v) for v in values], shown))
        described.append(f"{label}: {shown}")
    if not rows:
        parts.append(_text(LABEL_W, top_y + BAR_H - 3, "Nothing yet", "gh-chart__label"))
    parts.insert(2, f'<desc id="{chart_id}-d">{escape("; ".join(described))}</desc>')
    parts.append("</svg>")
    svg = mark_safe("".join(parts))  # noqa: S308 every text above went through escape()
    return Chart(
        svg=svg,
        title=title,
        series=list(series),
        rows=table,
        top_y=top_y + bar_dy,
        row_h=row_h,
    )


def meters(
    rows: Sequence[tuple[str, float, float, float]], *, title: str, used: str, held: str
) -> Chart:
    """Rows of (label, used, held, capacity): how full each thing is. The bar's length is the
    capacity, filled with what is used, then what is held; the text says "used of capacity"."""
    scaled = []
    for label, done, waiting, capacity in rows:
        capacity = capacity or 1
        free = max(0.0, capacity - done - waiting)
        scaled.append((label, [done / capacity, waiting / capacity, free / capacity]))
    chart = stacked_bars(
        scaled,
        title=title,
        series=[used, held, "free"],
        fmt=lambda v: f"{v:.0%}",
        total=lambda values: "",
    )
    # Replace the percentages' total column with "used of capacity" counts.
    svg = str(chart.svg)
    texts = []
    for i, (_label, done, waiting, capacity) in enumerate(rows):
        y = chart.top_y + i * chart.row_h
        texts.append(
            _text(
                WIDTH - 2,
                y + BAR_H - 3,
                f"{done + waiting:,.0f} of {capacity:,.0f}",
                "gh-chart__value",
                "end",
            )
        )
    svg = svg.replace("</svg>", "".join(texts) + "</svg>")
    table = [
        (
            label,
            [f"{done:,.0f}", f"{waiting:,.0f}", f"{max(0, capacity - done - waiting):,.0f}"],
            f"{capacity:,.0f}",
        )
        for label, done, waiting, capacity in rows
    ]
    return Chart(
        svg=mark_safe(svg),  # noqa: S308 the chart's SVG plus texts that went through escape()
        title=title,
        series=chart.series,
        rows=table,
        top_y=chart.top_y,
        row_h=chart.row_h,
    )


def figures_table(chart: Chart, *, total_heading: str = "Total") -> SafeString:
    """The chart's figures as a table inside a closed <details>, for anyone who prefers them."""
    head = format_html_join("", '<th scope="col">{}</th>', ((name,) for name in chart.series))
    body = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}<td>{}</td></tr>',
        (
            (label, format_html_join("", "<td>{}</td>", ((v,) for v in values)), shown)
            for label, values, shown in chart.rows
        ),
    )
    return format_html(
        '<details class="gh-chart__figures"><summary>Show the figures</summary>'
        '<table class="listing"><thead><tr><td></td>{}<th scope="col">{}</th></tr>'
        "</thead><tbody>{}</tbody></table></details>",
        head,
        total_heading,
        body,
    )


def month_starts(months: int = 12, *, today=None) -> list:
    """The first day of each of the last `months` calendar months, oldest first (this month
    last), as aware datetimes at midnight in the site's time zone."""
    today = today or timezone.localdate()
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(timezone.make_aware(dt.datetime(year, month, 1)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]
