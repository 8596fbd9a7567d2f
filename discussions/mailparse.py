"""Reading inbound mail defensively: every accessor survives broken headers and MIME.

Real mail is messy (bad charsets, missing Message-IDs, headers that do not parse), and the
ingest task must never crash on it, so each helper here returns something usable or empty.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from email.message import Message as PyMessage

import nh3

_MSGID = re.compile(r"<[^<>\s]+>")
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|antw)\s*(?:\[\d+\])?\s*:\s*|\[[^\]]{1,60}\]\s*)+", re.I
)
_OUT_OF_OFFICE = re.compile(
    r"\b(?:out of (?:the )?office|auto(?:matic)?[ -]?(?:reply|response)|autoreply|"
    r"on vacation|away from (?:my|the) (?:desk|office)|abwesenheit|absence)\b",
    re.I,
)


def parse(raw: bytes) -> PyMessage:
    """Parse raw bytes; the default policy's lazy headers keep broken ones from raising here."""
    return email.message_from_bytes(raw, policy=email.policy.default)


def header(msg: PyMessage, name: str) -> str:
    """A header as text, or "" when it is missing or cannot be decoded."""
    try:
        value = msg.get(name)
    except Exception:
        value = None
    if value is None:
        try:
            raw_values = [v for k, v in msg.raw_items() if k.lower() == name.lower()]
        except Exception:
            raw_values = []
        value = raw_values[0] if raw_values else ""
    return " ".join(str(value).split())[:2000]


def address(msg: PyMessage, name: str = "From") -> tuple[str, str]:
    """(display name, lowercased address) of a single-address header, or ("", "")."""
    name_part, addr = email.utils.parseaddr(header(msg, name))
    addr = addr.strip().lower()
    if "@" not in addr:
        return "", ""
    return name_part.strip()[:200], addr[:254]


def message_ids(value: str) -> list[str]:
    return _MSGID.findall(value or "")


def normalize_subject(subject: str) -> str:
    """Subject without Re:/Fwd: prefixes and [List] tags, lowercased, for thread matching."""
    return " ".join(_REPLY_PREFIX.sub("", subject or "").split()).lower()[:300]


def clean_subject(subject: str) -> str:
    """Subject without list tags or reply prefixes, as the archive shows a thread title."""
    return " ".join(_REPLY_PREFIX.sub("", subject or "").split())[:300] or "(no subject)"


def is_reply_subject(subject: str) -> bool:
    return bool(re.match(r"^\s*(?:\[[^\]]{1,60}\]\s*)?(?:re|aw|sv|antw)\s*:", subject or "", re.I))


def auto_reply_reason(msg: PyMessage, envelope_from: str) -> str:
    """Why this looks machine-generated (RFC 3834 and common practice), or "" for a person."""
    if envelope_from in ("", "<>"):
        return "null return path (a bounce or auto-reply)"
    auto_submitted = header(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = header(msg, "Precedence").lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = header(msg, name).lower()
        if value and (name != "X-Auto-Response-Suppress" or "all" in value or "oof" in value):
            return f"{name} header"
    if _OUT_OF_OFFICE.search(header(msg, "Subject")):
        return "out-of-office subject"
    return ""


@dataclass
class Body:
    text: str = ""
    html: str = ""
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def _part_text(part: PyMessage) -> str:
    """Decoded text of a part, falling back through charsets rather than failing."""
    try:
        return part.get_content()
    except Exception:
        payload = part.get_payload(decode=True) or b""
        for charset in (part.get_content_charset() or "utf-8", "utf-8", "cp1252", "latin-1"):
            try:
                return payload.decode(charset, errors="strict")
            except (LookupError, UnicodeDecodeError):
                continue
        return payload.decode("latin-1", errors="replace")


def html_to_text(html: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h\d>", "\n", html)
    text = nh3.clean(text, tags=set())
    text = (
        text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


def body(msg: PyMessage) -> Body:
    """The message's text, sanitized HTML and attachments, whatever shape its MIME is in."""
    result = Body()
    try:
        parts = list(msg.walk())
    except Exception as exc:
        result.defects.append(f"cannot walk MIME tree: {exc}")
        parts = [msg]
    for part in parts:
        try:
            if part.is_multipart():
                continue
            ctype = part.get_content_type()
            disposition = part.get_content_disposition()
            filename = part.get_filename()
        except Exception as exc:
            result.defects.append(f"unreadable part: {exc}")
            continue
        if disposition == "attachment" or filename or not ctype.startswith("text/"):
            if ctype.startswith("multipart/") or ctype == "message/rfc822":
                continue
            try:
                payload = part.get_payload(decode=True) or b""
            except Exception:
                payload = b""
            result.attachments.append((filename or "attachment", ctype, payload))
        elif ctype == "text/plain" and not result.text:
            result.text = _part_text(part)
        elif ctype == "text/html" and not result.html:
            result.html = nh3.clean(_part_text(part))
        elif not result.text:
            result.text = _part_text(part)
    if not result.text and result.html:
        result.text = html_to_text(result.html)
    result.text = result.text.replace("\r\n", "\n").strip()
    return result
