"""What a reader sees of a message: the words its author wrote this time, without the quoted
thread below (or above) them and without the signature. Used by the thread page and search."""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

__all__ = ["split_body"]

# "On Mon, Jan 5, 2026 at 9:00 AM Ann <a@x.org> wrote:" or Outlook's "--- Original Message ---".
_ATTRIBUTION = re.compile(r"^(?:.{0,300}\bwrote:|-{2,}\s*original message\s*-{2,})$", re.I)


def _without_leading_quote(text: str) -> str:
    """`text` minus a quote placed above the reply (and its "... wrote:" line), if any."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if (
        i + 1 < len(lines)
        and _ATTRIBUTION.match(lines[i].strip())
        and lines[i + 1].lstrip().startswith(">")
    ):
        i += 1
    if i >= len(lines) or not lines[i].lstrip().startswith(">"):
        return text
    while i < len(lines) and (lines[i].lstrip().startswith(">") or not lines[i].strip()):
        i += 1
    return "\n".join(lines[i:]).strip() or text


def split_body(text: str) -> tuple[str, bool]:
    """(what the author wrote this time, whether quotes or a signature were folded away)."""
    try:
        parsed = EmailReplyParser(languages=["en"]).read(text or "")
        latest = parsed.replies[0].body.strip() if parsed.replies else ""
    except Exception:
        latest = ""
    latest = _without_leading_quote(latest)
    if not latest:
        return text, False
    return latest, latest.strip() != (text or "").strip()
