"""Our templates carry no inline script, so the Content-Security-Policy can forbid them: code
lives in static files, the data it needs in data- attributes or json_script blocks."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TAG = re.compile(r"<([a-zA-Z][\w-]*)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.DOTALL)
EVENT_HANDLER = re.compile(r"(?:^|\s)on[a-z]+\s*=", re.IGNORECASE)
SRC = re.compile(r"(?:^|\s)src\s*=", re.IGNORECASE)
DATA_TYPE = re.compile(r"""(?:^|\s)type\s*=\s*["']?application/(?:ld\+)?json""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""=\s*["']?\s*javascript:""", re.IGNORECASE)


def our_templates() -> list[Path]:
    folders = [ROOT / "templates", *ROOT.glob("*/templates")]
    return sorted(p for folder in folders for p in folder.rglob("*.html"))


def inline_code(html: str) -> list[str]:
    """Every inline <script>, on…= handler and javascript: URL in a template's HTML."""
    found = []
    for match in TAG.finditer(html):
        name, attributes = match.group(1).lower(), match.group(2)
        if name == "script" and not SRC.search(attributes) and not DATA_TYPE.search(attributes):
            found.append(match.group(0))
        if EVENT_HANDLER.search(attributes) or JAVASCRIPT_URL.search(attributes):
            found.append(match.group(0))
    return found


def test_scanner_finds_inline_scripts_handlers_and_javascript_urls():
    html = """
        <script>alert(1)</script> <button type="button" onclick="go()">x</button>
        <a href="javascript:go()">y</a> <body onload='x()'>
        <script src="/static/a.js" defer></script> <script type="application/json">{}</script>
        <a href="/x" data-confirm="on=1">ok</a> <p class="online">ok</p>
    """

    assert len(inline_code(html)) == 4


def test_no_template_of_ours_has_inline_scripts_or_event_handlers():
    templates = our_templates()
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in templates
        if (found := inline_code(path.read_text(encoding="utf-8")))
    }

    assert len(templates) > 50
    assert offenders == {}
