"""Whether an inbound message really comes from the address in its From line.

We do not check DKIM or SPF ourselves: the receiving MTA (Postfix with OpenDMARC/OpenDKIM,
rspamd, ...) does, and writes its verdict in an Authentication-Results header (RFC 8601)
naming itself by an authserv-id. Anyone can write such a header into a message, so only the
topmost one carrying our MTA's authserv-id (settings.DISCUSSIONS_AUTHSERV_ID) counts, and only
when no more than one Received header (our MTA's own) sits above it; anything lower was in the
message before it reached us. The MTA must also remove incoming headers that carry its own
authserv-id (RFC 8601 section 5), as rspamd does and OpenDKIM does with `RemoveARAll yes`.

A sender is trusted when that header shows DMARC pass for the From domain, or DKIM pass with a
signing domain aligned with the From domain, or SPF pass with a MAIL FROM domain aligned with
it. Alignment is DMARC's relaxed alignment (RFC 7489 section 3.1): both domains share an
organisational domain, found with the Public Suffix List bundled in `publicsuffixlist`.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from email.message import Message as PyMessage

import authres
from django.conf import settings
from publicsuffixlist import PublicSuffixList

log = logging.getLogger(__name__)

_psl = PublicSuffixList()
_COMMENT = re.compile(r"\([^()]*\)")


@dataclass(frozen=True)
class Verdict:
    trusted: bool
    reason: str


def _domain(value: str) -> str:
    """The domain of an address, an "@domain" identity or a bare domain, lowercased."""
    value = (value or "").strip().strip("<>").strip('"').rstrip(".").lower()
    return value.rpartition("@")[2]


def _org_domain(domain: str) -> str:
    return _psl.privatesuffix(domain) or domain


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment: the two domains have the same organisational domain."""
    domain, from_domain = _domain(domain), _domain(from_domain)
    if not domain or not from_domain:
        return False
    return domain == from_domain or _org_domain(domain) == _org_domain(from_domain)


def _authserv_id(value: str) -> str:
    """The authserv-id of a raw header value, read loosely so a header we cannot parse fully
    is still recognised as ours (and then fails closed)."""
    head = _COMMENT.sub(" ", value).split(";", 1)[0].split()
    return head[0].lower() if head else ""


def _our_header(msg: PyMessage, authserv_id: str) -> str | None:
    """The value of the topmost Authentication-Results header our MTA added, or None."""
    received = 0
    try:
        items = msg.raw_items()
    except Exception:
        return None
    for name, value in items:
        lowered = name.lower()
        if lowered == "received":
            received += 1
            if received > 1:
                # Below another hop: whatever follows was written before our MTA saw it.
                return None
        elif lowered == "authentication-results":
            value = " ".join(str(value).split())
            if _authserv_id(value) == authserv_id:
                return value
    return None


def _results(value: str):
    try:
        return authres.AuthenticationResultsHeader.parse_value(value).results
    except Exception:
        return None


def _prop(result, ptype: str, name: str) -> str:
    for prop in result.properties:
        if prop.type.lower() == ptype and prop.name.lower() == name:
            return str(prop.value or "")
    return ""


def is_loopback(peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def sender_verdict(msg: PyMessage, *, from_email: str, peer: str = "") -> Verdict:
    """Whether to trust that `from_email` sent `msg`; never raises.

    Loopback peers are trusted only where settings.DISCUSSIONS_TRUST_LOOPBACK says so (the
    laptop listener with no MTA in front); in production Postfix itself connects from loopback,
    so there only the Authentication-Results header counts.
    """
    from_domain = _domain(from_email)
    if not from_domain:
        return Verdict(False, "no From domain")
    if settings.DISCUSSIONS_TRUST_LOOPBACK and is_loopback(peer):
        return Verdict(True, f"local delivery from {peer}")
    authserv_id = (settings.DISCUSSIONS_AUTHSERV_ID or "").strip().lower()
    if not authserv_id:
        return Verdict(False, "no authserv-id configured (DISCUSSIONS_AUTHSERV_ID)")
    value = _our_header(msg, authserv_id)
    if value is None:
        return Verdict(False, f"no Authentication-Results from {authserv_id}")
    results = _results(value)
    if results is None:
        log.warning("Unparsable Authentication-Results from our MTA: %.200s", value)
        return Verdict(False, "unparsable Authentication-Results")
    for result in results:
        method, outcome = (result.method or "").lower(), (result.result or "").lower()
        if outcome != "pass":
            continue
        if method == "dmarc" and aligned(
            _prop(result, "header", "from") or from_domain, from_domain
        ):
            return Verdict(True, f"dmarc=pass for {from_domain}")
        if method == "dkim":
            signer = _prop(result, "header", "d") or _prop(result, "header", "i")
            if aligned(signer, from_domain):
                return Verdict(True, f"dkim=pass by {_domain(signer)}")
        if method == "spf":
            envelope = _prop(result, "smtp", "mailfrom")
            if aligned(envelope, from_domain):
                return Verdict(True, f"spf=pass for {_domain(envelope)}")
    return Verdict(False, "no aligned DMARC, DKIM or SPF pass")
