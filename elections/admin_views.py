"""The election overview in the Wagtail admin (staff only): turnout, nominations to review,
the audit log. Turnout is a count of participations; no view here reads a ballot."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from . import services
from .models import Election, Nomination


def _staff(request):
    if not request.user.is_staff:
        raise PermissionDenied


def overview_index(request):
    _staff(request)
    return TemplateResponse(
        request, "elections/admin/index.html", {"elections": Election.objects.all()}
    )


def overview(request, election_id: int):
    _staff(request)
    election = get_object_or_404(Election, pk=election_id)
    electors = election.electors.count()
    voted = election.participations.count()
    context = {
        "election": election,
        "electors": electors,
        "voted": voted,
        "turnout": f"{100 * voted / electors:.0f}%" if electors else "n/a",
        "nominations": Nomination.objects.filter(office__election=election).select_related(
            "office", "nominee", "nominated_by"
        ),
        "audit": election.audit.select_related("actor")[:100],
    }
    return TemplateResponse(request, "elections/admin/overview.html", context)


@require_POST
def nomination_review(request, nomination_id: int):
    _staff(request)
    nomination = get_object_or_404(
        Nomination.objects.select_related("office__election"), pk=nomination_id
    )
    decision = request.POST.get("decision")
    if decision not in {"approve", "reject"}:
        messages.error(request, "Choose approve or reject.")
    else:
        try:
            services.nomination_review(
                nomination=nomination, staff=request.user, approve=decision == "approve"
            )
            messages.success(request, f"{nomination.display_name}: {decision}d.")
        except services.Refusal as refusal:
            messages.error(request, refusal.message)
    return redirect("elections_overview_detail", nomination.office.election_id)
