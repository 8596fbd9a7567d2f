"""Demo: the resource library's shelves and a few documents, public and members-only, whose
words are read at once so the demo search finds them without a worker."""

from __future__ import annotations

from django.core.files.base import ContentFile

from . import services
from .models import DocumentCategory, LibraryDocument
from .samples import docx_bytes, pdf_bytes

CATEGORIES = [
    ("Policies", "policies", "Front-office and billing policies to adapt for your practice."),
    ("Templates", "templates", "Letters and notices you fill in and send."),
    ("Forms", "forms", "Forms patients and staff complete."),
]

DOCUMENTS = [
    # (title, category slug, members only, file name, description, text)
    (
        "Financial policy template",
        "policies",
        False,
        "financial-policy-template.docx",
        "A one-page financial policy for patients: copays, self-pay estimates and payment plans.",
        [
            "Copays and coinsurance are collected at check-in.",
            "Self-pay patients receive a good faith estimate before scheduled infusions.",
            "Payment plans are offered for balances over $250.",
        ],
    ),
    (
        "Prior authorization appeal letter",
        "templates",
        True,
        "prior-authorization-appeal-letter.docx",
        "A letter to appeal a denied prior authorization for a biologic.",
        [
            "We request reconsideration of the denial of coverage for adalimumab.",
            "The patient has failed methotrexate and sulfasalazine at therapeutic doses.",
            "Enclosed are the chart notes and the step therapy history.",
        ],
    ),
    (
        "HIPAA privacy practices notice",
        "policies",
        True,
        "hipaa-privacy-practices-notice.pdf",
        "The notice of privacy practices to post in the waiting room and give new patients.",
        [
            "This notice describes how medical information about you may be used and disclosed.",
            "You may request a restriction on disclosures to your health plan.",
        ],
    ),
    (
        "New patient intake form",
        "forms",
        False,
        "new-patient-intake-form.pdf",
        "Demographics, insurance and medication history for a first rheumatology visit.",
        [
            "Please list every medication you take, including supplements.",
            "Insurance carrier, member ID and group number.",
            "Joint pain: which joints, since when, morning stiffness in minutes.",
        ],
    ),
]


def load(stdout) -> None:
    categories = {}
    for order, (name, slug, description) in enumerate(CATEGORIES):
        categories[slug], _ = DocumentCategory.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "sort_order": order}
        )
    for title, slug, members_only, filename, description, lines in DOCUMENTS:
        if LibraryDocument.objects.filter(title=title).exists():
            continue
        content = (
            pdf_bytes(lines, title=title)
            if filename.endswith(".pdf")
            else docx_bytes(lines, title=title)
        )
        document = LibraryDocument(
            title=title,
            description=description,
            category=categories[slug],
            members_only=members_only,
            filename=filename,
            size=len(content),
        )
        document.file.save(filename, ContentFile(content), save=False)
        document.save()
        services.document_extract_text(document_id=document.pk)
    stdout.write("Library: demo documents in place.")
