"""Public verification, members' certificates and transcript, session check-in and
evaluations, and the staff pages. Views parse, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from conferences import tickets
from conferences.models import Attendee, ConferencePage, Session

# The same gates as the conference's own staff pages (second factor via the URL prefix).
from conferences.views import check_in_required, staff_required
from portal import charts

from . import documents, forms, links, selectors, services, tasks
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


# --- The attendee's signed ticket link: self check-in, evaluations, the certificate ---------


def _attendee(request, token: str):
    """The attendee a signed ticket link opens, or the refusal page (404 tampered, 410
    revoked or expired), as conferences' own ticket pages answer."""
    try:
        attendee = tickets.attendee_for_token(token)
    except tickets.LinkInvalid:
        reason, status = "This ticket link is not valid. Check that it was copied whole.", 404
    except tickets.LinkRevoked as error:
        reason, status = str(error), 410
    else:
        return attendee, None
    response = render(
        request, "conferences/ticket_link_invalid.html", {"reason": reason}, status=status
    )
    return None, response


def _session(attendee, session_id: int) -> Session:
    return get_object_or_404(Session, pk=session_id, conference_id=attendee.order.conference_id)


def _back_to_ticket(token: str):
    return redirect(reverse("conferences:attendee-ticket", args=[token]) + "?as_attendee#ce")


@require_POST
def self_check_in(request, token: str, session_id: int):
    attendee, refused = _attendee(request, token)
    if refused:
        return refused
    session = _session(attendee, session_id)
    form = forms.RoomCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Type the code shown in the room.")
        return _back_to_ticket(token)
    try:
        result = services.self_check_in(
            session=session, attendee=attendee, code=form.cleaned_data["code"]
        )
    except services.Refusal as refusal:
        messages.error(request, str(refusal))
    else:
        if result.already:
            messages.info(request, f"You are already checked in to “{session.title}”.")
        else:
            messages.success(request, f"You are checked in to “{session.title}”.")
    return _back_to_ticket(token)


def evaluation(request, token: str, session_id: int):
    attendee, refused = _attendee(request, token)
    if refused:
        return refused
    session = _session(attendee, session_id)
    state = services.evaluation_state(session, attendee)
    questions = list(services.questions_for(session))
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        answers, errors = services.evaluation_parse(session, request.POST)
        if not errors:
            try:
                services.evaluation_submit(session=session, attendee=attendee, answers=answers)
            except services.Refusal as refusal:
                messages.error(request, str(refusal))
                return _back_to_ticket(token)
            messages.success(request, f"Thank you for evaluating “{session.title}”.")
            return _back_to_ticket(token)
        status = 400
    elif state != "open":
        messages.info(request, services.evaluations.REFUSALS[state])
        return _back_to_ticket(token)
    fields = [
        {
            "question": q,
            "name": f"q{q.pk}",
            "value": request.POST.get(f"q{q.pk}", "") if request.method == "POST" else "",
            "error": errors.get(f"q{q.pk}"),
        }
        for q in questions
    ]
    return render(
        request,
        "education/evaluation.html",
        {
            "attendee": attendee,
            "session": session,
            "conference": attendee.order.conference,
            "fields": fields,
            "token": token,
            "scale": ["1", "2", "3", "4", "5"],
        },
        status=status,
    )


@require_POST
def certificate_request(request, token: str):
    """Issue (or find) the attendee's conference certificate and open its PDF."""
    attendee, refused = _attendee(request, token)
    if refused:
        return refused
    try:
        services.conference_certificate(attendee)
    except services.Refusal as refusal:
        messages.error(request, str(refusal))
        return _back_to_ticket(token)
    return redirect("education:ticket-certificate", token)


def ticket_certificate(request, token: str):
    """The attendee's valid certificate as PDF; the signed link is the key, as for the ticket."""
    attendee, refused = _attendee(request, token)
    if refused:
        return refused
    member = services.attendee_member(attendee)
    certificate = (
        Certificate.objects.filter(
            member=member,
            source_kind="conference",
            source_ref=services.conference_ref(attendee.order.conference),
            revoked_at__isnull=True,
        ).first()
        if member is not None
        else None
    )
    if certificate is None:
        raise Http404
    return _pdf(documents.certificate_pdf(certificate), f"certificate-{certificate.number}.pdf")


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- The member's transcript ------------------------------------------------------------------


@login_required
def transcript(request):
    return render(
        request,
        "education/transcript.html",
        {**selectors.transcript(request.user), "member": request.user},
    )


@login_required
def transcript_pdf(request):
    data = documents.transcript_pdf(request.user, selectors.transcript(request.user))
    return _pdf(data, "transcript.pdf")


@login_required
def transcript_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="transcript.csv"'
    documents.transcript_csv(response, selectors.transcript(request.user))
    return response


# --- Speakers' results: a signed link staff hand to a speaker ---------------------------------


def speaker_results(request, token: str):
    found = links.read_results_token(token)
    if found is None:
        raise Http404
    session, speaker = found
    return _results_page(request, session, speaker=speaker)


def _results_page(request, session: Session, *, speaker=None, staff=False):
    submitted, results = services.evaluation_results(session)
    charts_ = [
        charts.stacked_bars(
            [("Answers", [float(n) for n in r.counts])],
            title=str(r.question.text),
            series=["1", "2", "3", "4", "5"],
            total=lambda values, r=r: f"avg {r.average:.1f}" if r.average else "",
        )
        for r in results
        if r.question.kind == "rating"
    ]
    return render(
        request,
        "education/results.html",
        {
            "session": session,
            "conference": session.conference,
            "submitted": submitted,
            "attended": session.ce_attendance.count(),
            "results": results,
            "charts": [(c, charts.figures_table(c, total_heading="Average")) for c in charts_],
            "speaker": speaker,
            "staff": staff,
        },
    )


# --- Conference staff: door check-in, room codes, results, bulk issue -------------------------


def _conference(conference_id: int) -> ConferencePage:
    return get_object_or_404(ConferencePage.objects.live(), pk=conference_id)


@check_in_required
def staff_sessions(request, conference_id: int):
    """Every session with its hours and rule; door staff pick their door here."""
    conference = _conference(conference_id)
    rows = selectors.staff_overview(conference)
    for row in rows:
        if request.user.is_staff:
            row["speaker_links"] = [
                (speaker, links.results_url(row["session"], speaker))
                for speaker in row["session"].speakers.all()
            ]
    return render(
        request,
        "education/staff/sessions.html",
        {
            "conference": conference,
            "rows": rows,
            "is_staff": request.user.is_staff,
            "program_over": services.program_over(conference),
        },
    )


@check_in_required
def staff_door(request, conference_id: int, session_id: int):
    """A phone at a session's door: scan the ticket's QR code (door.js posts what it read)
    or type the ticket code. A second scan says "already checked in"."""
    conference = _conference(conference_id)
    session = get_object_or_404(conference.sessions, pk=session_id)
    result = None
    status = 200
    if request.method == "POST":
        form = forms.DoorForm(request.POST)
        if form.is_valid():
            try:
                result = services.door_check_in(
                    session=session, ticket_code=form.cleaned_data["code"], by=request.user
                )
            except services.Refusal as refusal:
                messages.error(request, str(refusal))
                status = 409
        else:
            messages.error(request, "Scan a ticket or type its code.")
            status = 400
    # The ticket's QR opens the conference check-in; this remembers the door the phone is
    # at, so a scan with the camera app lands back here (conferences.views.attendee_ticket).
    request.session["education_door"] = [conference.pk, session.pk]
    found = None
    code = request.GET.get("code", "").strip().upper()[:12]
    if code and result is None:
        found = (
            Attendee.objects.filter(ticket_code=code, order__conference=conference)
            .select_related("order", "ticket_type")
            .first()
        )
        if found is None:
            messages.error(request, f"No ticket {code} for this conference.")
        else:
            found.at_session = session.ce_attendance.filter(attendee=found).first()
    return render(
        request,
        "education/staff/door.html",
        {
            "conference": conference,
            "session": session,
            "result": result,
            "found": found,
            "checked_in": session.ce_attendance.count(),
        },
        status=status,
    )


@staff_required
def staff_room_code(request, conference_id: int, session_id: int):
    """The code to show on the room's screen, large."""
    conference = _conference(conference_id)
    session = get_object_or_404(conference.sessions, pk=session_id)
    rule = services.rule_for(session)
    return render(
        request,
        "education/staff/room_code.html",
        {
            "conference": conference,
            "session": session,
            "rule": rule if rule.pk else None,
            "window": rule.window(),
        },
    )


@staff_required
def staff_results(request, conference_id: int, session_id: int):
    conference = _conference(conference_id)
    session = get_object_or_404(conference.sessions, pk=session_id)
    return _results_page(request, session, staff=True)


@staff_required
@require_POST
def staff_issue_certificates(request, conference_id: int):
    conference = _conference(conference_id)
    if not services.program_over(conference):
        messages.error(request, "Certificates are issued once the last session has ended.")
    else:
        pk = conference.pk
        transaction.on_commit(lambda: tasks.certificates_issue.delay(pk))
        messages.success(
            request,
            "Certificates are being issued; each attendee who earned hours gets one mail.",
        )
    return redirect("education:staff-sessions", conference.pk)
