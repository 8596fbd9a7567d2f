"""PDFs (invoices, receipts, credit notes, certificates, transcripts) drawn by WeasyPrint from
a Django template.

Drawing never reaches a host or a file: the fetcher takes `data:` URIs only (a QR code made
inline), so a name or address that looks like a link cannot make the server call out, and the
fonts are the system's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher


def render_pdf(
    template: str, context: dict[str, Any], *, stylesheets: Sequence[Path] = ()
) -> bytes:
    html = render_to_string(template, context)
    pdf: bytes = HTML(
        string=html, url_fetcher=URLFetcher(allowed_protocols=("data",)), base_url="/"
    ).write_pdf(stylesheets=[CSS(filename=str(path)) for path in stylesheets])
    return pdf
