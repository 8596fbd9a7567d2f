"""What a member carries away: the certificate PDF with its verification QR code, and the
transcript as PDF and CSV. PDFs are drawn by portal.pdf (local fonts, no outside fetches: the
QR is an inline SVG image)."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import segno
from django.conf import settings
from django.urls import reverse

from portal.pdf import render_pdf
from portal.spreadsheet import safe_cell

from .models import Certificate

PDF_CSS = Path(__file__).resolve().parent / "static" / "education" / "css" / "pdf.css"


def verify_url(certificate: Certificate) -> str:
    return settings.SITE_URL + reverse("education:verify", args=[certificate.number])


def qr_data_uri(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=4, border=1, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


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
        stylesheets=[PDF_CSS],
    )


def transcript_pdf(member, transcript: dict) -> bytes:
    return render_pdf(
        "education/pdf/transcript.html",
        {**transcript, "member": member, "association": settings.ASSOCIATION_NAME},
        stylesheets=[PDF_CSS],
    )


def transcript_csv(out, transcript: dict) -> None:
    writer = csv.writer(out)
    writer.writerow(["Date", "Source", "Title", "Provider", "Credit type", "Hours"])
    for year in transcript["years"]:
        for record in year.records:
            writer.writerow(
                [
                    record.earned_on.isoformat(),
                    record.get_source_kind_display(),
                    safe_cell(record.title),
                    safe_cell(record.provider),
                    record.credit_type.code,
                    f"{record.hours:.2f}",
                ]
            )
