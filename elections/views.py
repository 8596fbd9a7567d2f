"""Election pages, nominating, voting and results. Views parse, call a service, render; a
services.Refusal becomes its 4xx page with the reason."""

from __future__ import annotations

from fractions import Fraction

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from membership import access

from . import services
from .forms import NominationForm, ReceiptForm, ResponseForm
from .models import Ballot, Election, Nomination, Office, Participation
from .services.voting import WRITE_IN, ballot_options


def _refuse(request, election, refusal: services.Refusal):
    return render(
        request,
        "elections/refusal.html",
        {"election": election, "message": refusal.message},
        status=refusal.status,
    )


def _election(slug: str) -> Election:
    return get_object_or_404(Election, slug=slug)


def index(request):
    elections = Election.objects.all()[:20]
    return render(request, "elections/index.html", {"elections": elections})


def detail(request, election_slug: str):
    election = _election(election_slug)
    phase = election.phase()
    context = {
        "election": election,
        "phase": phase,
        "Phase": Election.Phase,
        "offices": ballot_options(election),
    }
    if request.user.is_authenticated:
        context["to_answer"] = Nomination.objects.filter(
            office__election=election,
            nominee=request.user,
            status=Nomination.Status.AWAITING_NOMINEE,
        )
        context["mine"] = Nomination.objects.filter(
            office__election=election, nominated_by=request.user
        ).select_related("office")
        context["has_voted"] = Participation.objects.filter(
            election=election, user=request.user
        ).exists()
    return render(request, "elections/detail.html", context)


@login_required
def nominate(request, election_slug: str):
    election = _election(election_slug)
    if election.phase() != Election.Phase.NOMINATIONS:
        return _refuse(request, election, services.Refusal("Nominations are not open.", 409))
    if not access.may_stand(request.user):
        return _refuse(
            request, election, services.Refusal("Only current members may nominate.", 403)
        )
    form = NominationForm(request.POST or None, request.FILES or None, election=election)
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "elections/nominate.html", {"election": election, "form": form}, status=400
            )
        try:
            services.nomination_create(
                office=form.cleaned_data["office"],
                nominated_by=request.user,
                nominee_email=form.cleaned_data["nominee_email"],
                statement=form.cleaned_data["statement"],
                photo=form.cleaned_data["photo"],
            )
        except services.Refusal as refusal:
            return _refuse(request, election, refusal)
        return redirect("elections:detail", election.slug)
    return render(request, "elections/nominate.html", {"election": election, "form": form})


@login_required
def nomination_respond(request, nomination_id: int):
    nomination = get_object_or_404(
        Nomination.objects.select_related("office__election"), pk=nomination_id
    )
    election = nomination.office.election
    if nomination.nominee_id != request.user.pk:
        raise Http404
    form = ResponseForm(request.POST or None, request.FILES or None)
    context = {"election": election, "nomination": nomination, "form": form}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "elections/respond.html", context, status=400)
        try:
            services.nomination_respond(
                nomination=nomination,
                user=request.user,
                accept=form.cleaned_data["answer"] == "accept",
                statement=form.cleaned_data["statement"],
                photo=form.cleaned_data["photo"],
            )
        except services.Refusal as refusal:
            return _refuse(request, election, refusal)
        return redirect("elections:detail", election.slug)
    return render(request, "elections/respond.html", context)


def _voter(request, election, token):
    """The voter: the signed link's owner, or the logged-in user. None: send to log in."""
    if token is not None:
        return services.user_from_link(election, token)
    if request.user.is_authenticated:
        return request.user
    return None


def _ballot_context(election, voter, **extra):
    offices = []
    for office, candidates in ballot_options(election):
        places = len(candidates) + (1 if office.allow_write_ins else 0)
        offices.append(
            {
                "office": office,
                "candidates": candidates,
                "ranked": office.method == Office.Method.RANKED,
                "places": range(1, places + 1),
            }
        )
    return {"election": election, "voter": voter, "offices": offices, "WRITE_IN": WRITE_IN, **extra}


@never_cache
def vote(request, election_slug: str, token: str | None = None):
    election = _election(election_slug)
    try:
        voter = _voter(request, election, token)
        if voter is None:
            return redirect_to_login(request.get_full_path())
        if request.method == "POST":
            receipt = services.ballot_cast(election=election, user=voter, data=request.POST)
            # Shown once, in this response, and stored nowhere that knows the voter (not the
            # session, not a mail): the receipt is the voter's alone.
            return render(
                request, "elections/receipt.html", {"election": election, "receipt": receipt}
            )
        services.voter_check(election, voter)
        if election.phase() != Election.Phase.VOTING:
            raise services.Refusal(
                "Voting in this election has closed."
                if election.phase() in {Election.Phase.COUNTING, Election.Phase.CLOSED}
                else "Voting in this election has not opened yet.",
                409,
            )
        if Participation.objects.filter(election=election, user=voter).exists():
            raise services.Refusal(
                "You have voted in this election already"
                + (
                    "; you may change your vote with your receipt code."
                    if election.allow_vote_change
                    else ", and a ballot cannot be cast twice."
                ),
                409,
            )
    except services.Refusal as refusal:
        return _refuse(request, election, refusal)
    return render(request, "elections/ballot.html", _ballot_context(election, voter, token=token))


@never_cache
def change(request, election_slug: str, token: str | None = None):
    election = _election(election_slug)
    try:
        voter = _voter(request, election, token)
        if voter is None:
            return redirect_to_login(request.get_full_path())
        if not election.allow_vote_change:
            raise services.Refusal("Votes in this election cannot be changed.", 409)
        if request.method == "POST":
            receipt = services.ballot_change(
                election=election,
                user=voter,
                receipt_code=str(request.POST.get("receipt", ""))[:20],
                data=request.POST,
            )
            return render(
                request,
                "elections/receipt.html",
                {"election": election, "receipt": receipt, "changed": True},
            )
        services.voter_check(election, voter)
    except services.Refusal as refusal:
        return _refuse(request, election, refusal)
    return render(
        request,
        "elections/ballot.html",
        _ballot_context(election, voter, token=token, changing=True),
    )


def _decimal(value: str) -> str:
    number = Fraction(value)
    return str(number.numerator) if number.denominator == 1 else f"{float(number):.2f}"


def results(request, election_slug: str):
    election = _election(election_slug)
    if election.closed_at is None:
        return render(request, "elections/results_pending.html", {"election": election})
    names = {n.key: n.display_name for _, cands in ballot_options(election) for n in cands}
    offices = []
    for office in election.offices.all():
        outcome = (election.results or {}).get(str(office.pk))
        if not outcome:
            continue
        keys = sorted({k for r in outcome["rounds"] for k in r["votes"]})
        label = {k: names.get(k, k.removeprefix("w:") + " (write-in)") for k in keys}
        rounds = [
            {
                "number": r["number"],
                "cells": [_decimal(r["votes"][k]) if k in r["votes"] else "" for k in keys],
                "elected": [label[k] for k in r["elected"]],
                "excluded": [label[k] for k in r["excluded"]],
                "by_lot": r["by_lot"],
            }
            for r in outcome["rounds"]
        ]
        offices.append(
            {
                "office": office,
                "outcome": outcome,
                "elected": [label.get(k, k) for k in outcome["elected"]],
                "columns": [label[k] for k in keys],
                "rounds": rounds,
            }
        )
    form = ReceiptForm(request.GET or None)
    checked = None
    if form.is_valid():
        code = form.cleaned_data["receipt"].strip().upper()
        checked = {
            "code": code,
            "found": Ballot.objects.filter(election=election, receipt_code=code).exists(),
        }
    return render(
        request,
        "elections/results.html",
        {
            "election": election,
            "offices": offices,
            "form": form,
            "checked": checked,
            "ballot_count": election.ballots.count(),
        },
    )


def export(request, election_slug: str):
    election = _election(election_slug)
    if election.closed_at is None:
        raise Http404("Published at the close.")
    response = JsonResponse(services.election_export(election), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="{election.slug}-ballots.json"'
    return response
