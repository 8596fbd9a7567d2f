"""Public verification, members' certificates and transcript, session check-in and
evaluations, and the staff pages. Views parse, call a service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from . import documents, services
from .models import Certificate


@require_GET
def verify(request, number: str):
    """Anyone may check a certificate: name, event, hours, valid or revoked. A number we never
    issued is "not valid" (404), never an error."""
    certificate = services.certificate_lookup(number)
    status = 200 if certificate is not None else 404
    response = render(
        request,
        "education/verify.html",
        {"certificate": certificate, "number": number[:40]},
        status=status,
    )
    # The answer changes when staff revoke; no cache may keep "valid".
    response["Cache-Control"] = "no-store"
    return response


@login_required
def certificate_pdf(request, number: str):
    """The member's own certificate as PDF (staff may open any)."""
    certificate = get_object_or_404(Certificate, number=number.strip().upper()[:20])
    if certificate.member_id != request.user.pk and not request.user.is_staff:
        raise Http404
    response = HttpResponse(documents.certificate_pdf(certificate), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{certificate.number}.pdf"'
    return response
