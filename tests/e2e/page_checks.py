"""Checks every browser test can run on the page it is looking at.

`assert_page_sound(page)` is the one to call after each page a journey visits: axe-core finds
no accessibility violation of any impact, and the page is no wider than the viewport (nothing
clipped on a phone). axe-core is the npm package pinned in package.json; `make install` puts it
in node_modules/, and it is injected from disk, so no test reaches a CDN.
"""

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

PHONE = {"width": 390, "height": 844}
NARROW_PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 800}


def axe_violations(page, *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Run axe-core on the page as it is now; return its violations (all impacts)."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make install` (npm ci) first")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # A <script> tag would be refused by the site's CSP (no inline script); evaluating the
        # source goes through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    # Wagtail's editor ships its own axe with content checks of the draft (a missing search
    # description, say) configured in; reset it to axe-core's standard rules, which judge the page.
    page.evaluate("() => window.axe.reset()")
    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    result = page.evaluate(
        "async (context) => await window.axe.run(context || document, "
        "{resultTypes: ['violations']})",
        context,
    )
    return result["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        what = violation.get("help") or violation.get("description", "")
        lines.append(f"{violation['impact']}: {violation['id']} ({what}) at {targets}")
    return "\n".join(lines)


def overflow_px(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when nothing overflows)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )


def assert_page_sound(page, *, exclude: tuple[str, ...] = ()) -> None:
    """No axe-core violation of any impact, and no horizontal overflow, on the current page."""
    violations = axe_violations(page, exclude=exclude)
    assert not violations, f"axe-core on {page.url}:\n{describe(violations)}"
    extra = overflow_px(page)
    assert extra <= 0, f"{page.url} is {extra}px wider than its {page.viewport_size} viewport"
