"""Certificates and outside hours in the Wagtail admin (staff only, behind its second factor):
find a certificate, revoke it with a reason, reissue it (a new number, the name corrected),
and enter hours a member earned elsewhere."""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from . import forms, services
from .models import Certificate, CreditRecord, CreditType, SourceKind, hours_validators


def _staff(request):
    if not request.user.is_staff:
        raise PermissionDenied


def certificates(request):
    _staff(request)
    q = request.GET.get("q", "").strip()[:100]
    found = Certificate.objects.select_related("member")
    if q:
        found = found.filter(
            Q(number__iexact=q)
            | Q(holder_name__icontains=q)
            | Q(member__email__iexact=q)
            | Q(title__icontains=q)
        )
    return TemplateResponse(
        request,
        "education/admin/certificates.html",
        {"certificates": found[:200], "q": q},
    )


def certificate_detail(request, certificate_id: int):
    _staff(request)
    certificate = get_object_or_404(Certificate.objects.select_related("member"), pk=certificate_id)
    revoke_form = forms.RevokeForm()
    reissue_form = forms.ReissueForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "revoke":
                revoke_form = forms.RevokeForm(request.POST)
                if revoke_form.is_valid():
                    services.certificate_revoke(
                        certificate=certificate,
                        by=request.user,
                        reason=revoke_form.cleaned_data["reason"],
                    )
                    messages.success(request, f"{certificate.number} is revoked.")
                    return redirect("education_certificate", certificate.pk)
            elif action == "reissue":
                reissue_form = forms.ReissueForm(request.POST)
                if reissue_form.is_valid():
                    new = services.certificate_reissue(
                        certificate=certificate,
                        by=request.user,
                        holder_name=reissue_form.cleaned_data["holder_name"],
                    )
                    messages.success(
                        request, f"{certificate.number} is revoked; {new.number} replaces it."
                    )
                    return redirect("education_certificate", new.pk)
            else:
                messages.error(request, "Choose revoke or reissue.")
        except services.Refusal as refusal:
            messages.error(request, str(refusal))
        status = 400
    return TemplateResponse(
        request,
        "education/admin/certificate.html",
        {"certificate": certificate, "revoke_form": revoke_form, "reissue_form": reissue_form},
        status=status,
    )


class OutsideHoursForm(django_forms.Form):
    member_email = django_forms.EmailField(label="Member's email")
    title = django_forms.CharField(max_length=200, label="Event")
    provider = django_forms.CharField(max_length=200, required=False, label="Held by")
    reference = django_forms.CharField(
        max_length=60, help_text="Unique for this member and event, e.g. 2026-05 AAPM webinar."
    )
    credit_type = django_forms.ModelChoiceField(CreditType.objects.filter(is_active=True))
    hours = django_forms.DecimalField(max_digits=6, decimal_places=2, validators=hours_validators)
    earned_on = django_forms.DateField(widget=django_forms.DateInput(attrs={"type": "date"}))

    def clean_member_email(self):
        email = self.cleaned_data["member_email"]
        member = get_user_model().objects.filter(email__iexact=email).first()
        if member is None:
            raise django_forms.ValidationError("No account uses this address.")
        self.member = member
        return email


def outside_hours(request):
    _staff(request)
    form = OutsideHoursForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                record, created = services.outside_credit_enter(
                    member=form.member,
                    reference=data["reference"],
                    title=data["title"],
                    provider=data["provider"],
                    credit_type=data["credit_type"],
                    hours=data["hours"],
                    earned_on=data["earned_on"],
                    by=request.user,
                )
            except services.Refusal as refusal:
                messages.error(request, str(refusal))
            else:
                if created:
                    messages.success(request, f"Recorded {record.hours} {record.credit_type}.")
                else:
                    messages.warning(
                        request, "These hours were already recorded under that reference."
                    )
                return redirect("education_outside")
        status = 400
    recent = CreditRecord.objects.filter(source_kind=SourceKind.OUTSIDE).select_related(
        "member", "credit_type"
    )[:50]
    return TemplateResponse(
        request,
        "education/admin/outside.html",
        {"form": form, "recent": recent},
        status=status,
    )
