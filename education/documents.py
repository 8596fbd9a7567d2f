"""What a member carries away: the certificate PDF with its verification QR code, and the
transcript as PDF and CSV. PDFs are drawn by weasyprint from templates, with local fonts and
no outside fetches (the QR is an inline SVG image)."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

from .models import Certificate

PDF_CSS = Path(__file__).resolve().parent / "static" / "education" / "css" / "pdf.css"


def verify_url(certificate: Certificate) -> str:
    return settings.SITE_URL + reverse("education:verify", args=[certificate.number])


def qr_data_uri(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=4, border=1, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def render_pdf(template: str, context: dict) -> bytes:
    # data: URIs only (the QR code), so drawing a PDF never reaches any host or file.
    html = render_to_string(template, context)
    pdf: bytes = HTML(
        string=html, url_fetcher=URLFetcher(allowed_protocols=("data",)), base_url="/"
    ).write_pdf(stylesheets=[CSS(filename=str(PDF_CSS))])
    return pdf


def certificate_pdf(certificate: Certificate) -> bytes:
    url = verify_url(certificate)
    return render_pdf(
        "education/pdf/certificate.html",
        {
            "certificate": certificate,
            "verify_url": url,
            "qr": qr_data_uri(url),
            "association": settings.ASSOCIATION_NAME,
        },
    )


def transcript_pdf(member, transcript: dict) -> bytes:
    return render_pdf(
        "education/pdf/transcript.html",
        {**transcript, "member": member, "association": settings.ASSOCIATION_NAME},
    )


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ (or a tab or carriage
    return) would run as a formula, and titles and providers are typed by people."""
    text = str(value)
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + text
    return text


def transcript_csv(out, transcript: dict) -> None:
    writer = csv.writer(out)
    writer.writerow(["Date", "Source", "Title", "Provider", "Credit type", "Hours"])
    for year in transcript["years"]:
        for record in year.records:
            writer.writerow(
                [
                    record.earned_on.isoformat(),
                    record.get_source_kind_display(),
                    csv_cell(record.title),
                    csv_cell(record.provider),
                    record.credit_type.code,
                    f"{record.hours:.2f}",
                ]
            )
