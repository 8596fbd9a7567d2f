"""Education's mail: a certificate (the PDF attached) and the evaluation invitation, each sent
once through portal.sendonce and stamped on its own row."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from portal.mail import render_email
from portal.sendonce import send_once_stamped

from . import documents
from .models import Certificate


def certificate_message(certificate: Certificate) -> EmailMultiAlternatives | None:
    if not certificate.is_valid or not certificate.member.email:
        return None  # revoked before it went out: nothing to send, recorded as handled
    message = render_email(
        template="education/email/certificate",
        subject=f"Your certificate: {certificate.title}",
        to=[certificate.member.email],
        context={
            "certificate": certificate,
            "verify_url": documents.verify_url(certificate),
            "transcript_url": settings.SITE_URL + reverse("education:transcript"),
        },
    )
    message.attach(
        f"certificate-{certificate.number}.pdf",
        documents.certificate_pdf(certificate),
        "application/pdf",
    )
    return message


def certificate_mail(certificate_id: int) -> bool:
    def build() -> EmailMultiAlternatives | None:
        certificate = Certificate.objects.select_related("member").get(pk=certificate_id)
        return certificate_message(certificate)

    return send_once_stamped(Certificate, certificate_id, "mailed_at", build)
