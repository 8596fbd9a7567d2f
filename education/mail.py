"""Education's mail: a certificate (the PDF attached) and the evaluation invitation, each sent
once through portal.sendonce and stamped on its own row."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from conferences import tickets
from portal.mail import render_email
from portal.sendonce import send_once_stamped

from . import documents, services
from .models import Certificate, SessionAttendance


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


def evaluation_message(attendance: SessionAttendance) -> EmailMultiAlternatives | None:
    session, attendee = attendance.session, attendance.attendee
    if services.evaluation_state(session, attendee) != "open":
        return None  # evaluated already, or the ticket was canceled: nothing to ask
    url = tickets.attendee_link(attendee, "conferences:attendee-ticket")
    return render_email(
        template="education/email/evaluation",
        subject=f"How was “{session.title}”?",
        to=[attendee.email],
        context={
            "attendee": attendee,
            "session": session,
            "conference": session.conference,
            "url": settings.SITE_URL
            + reverse("education:evaluation", args=[tickets.attendee_token(attendee), session.pk]),
            "ticket_url": url,
            "needs_evaluation": services.rule_for(session).needs_evaluation,
        },
    )


def evaluation_invitation(attendance_id: int) -> bool:
    def build() -> EmailMultiAlternatives | None:
        attendance = SessionAttendance.objects.select_related(
            "session__conference", "attendee__order__conference"
        ).get(pk=attendance_id)
        try:
            tickets.attendee_for_token(tickets.attendee_token(attendance.attendee))
        except (tickets.LinkInvalid, tickets.LinkRevoked):
            return None  # the ticket was reissued or canceled: its link would open nothing
        return evaluation_message(attendance)

    return send_once_stamped(SessionAttendance, attendance_id, "evaluation_mailed_at", build)
