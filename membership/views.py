"""Member pages: benefits and plans, joining, the account page, seats, profile, directory."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from payments import gateway, invoicing
from payments.forms import InvoiceDetailsForm
from payments.models import Invoice

from . import access, selectors, services
from .forms import (
    DeleteAccountForm,
    DirectorySearchForm,
    InviteForm,
    PracticeForm,
    ProfileForm,
    WelcomeProfileForm,
)
from .history import member_reason
from .models import MemberProfile, Plan, Seat

log = logging.getLogger(__name__)


def _plans():
    return Plan.objects.filter(is_active=True)


def overview(request):
    """Benefits and plans, open to everyone."""
    return render(
        request,
        "membership/overview.html",
        {"plans": _plans(), "is_member": access.is_active_member(request.user)},
    )


def join(request):
    """Choose a plan. Visitors are sent to sign up first; the plan they picked is kept."""
    membership = services.membership_for_user(request.user)
    return render(
        request,
        "membership/join.html",
        {
            "plans": _plans(),
            "membership": membership,
            "is_member": access.is_active_member(request.user),
        },
    )


def join_plan(request, slug):
    """Confirm a plan (a practice names itself here) and go to Stripe Checkout."""
    plan = get_object_or_404(_plans(), slug=slug)
    here = reverse("membership:join-plan", args=[slug])
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_signup')}?{urlencode({'next': here})}")
    existing = services.membership_for_user(request.user)
    form = PracticeForm(request.POST or None) if plan.is_practice else None
    has_practice = bool(existing and existing.practice_id)
    if request.method == "POST" and (form is None or has_practice or form.is_valid()):
        practice = form.cleaned_data if form is not None and not has_practice else {}
        try:
            membership = services.membership_prepare(user=request.user, plan=plan, **practice)
            session = services.membership_checkout(
                membership=membership,
                success_url=request.build_absolute_uri(reverse("membership:welcome"))
                + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=request.build_absolute_uri(here),
            )
        except services.MembershipError as exc:
            messages.error(request, str(exc))
        except gateway.GatewayError:
            log.exception("could not open Stripe Checkout for %s", request.user.pk)
            messages.error(
                request, "We could not reach our payment provider. Please try again shortly."
            )
        else:
            return redirect(session.url)
    return render(
        request,
        "membership/join_plan.html",
        {"plan": plan, "form": form, "membership": existing, "has_practice": has_practice},
    )


def join_invoice(request, slug):
    """Pay a plan's dues by invoice (check or ACH), where staff allow it for the plan: the
    invoice is issued at once and the membership waits, pending payment, until staff record
    the payment."""
    plan = get_object_or_404(_plans(), slug=slug)
    here = reverse("membership:join-invoice", args=[slug])
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_signup')}?{urlencode({'next': here})}")
    if not plan.invoice_allowed:
        raise Http404("This plan is paid by card only.")
    existing = services.membership_for_user(request.user)
    has_practice = bool(existing and existing.practice_id)
    practice_form = (
        PracticeForm(request.POST or None) if plan.is_practice and not has_practice else None
    )
    profile = invoicing.billing_profile_for(request.user.pk)
    form = InvoiceDetailsForm(
        request.POST or None,
        initial={
            "organization": profile.organization or (existing.practice_name if existing else ""),
            "address": profile.address,
            "tax_id": profile.tax_id,
        },
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and (practice_form is None or practice_form.is_valid()):
            data = form.cleaned_data
            billing = invoicing.Billing.typed_by(request.user, data)
            try:
                membership = services.membership_prepare(
                    user=request.user,
                    plan=plan,
                    **(practice_form.cleaned_data if practice_form is not None else {}),
                )
                invoice = services.membership_pay_by_invoice(membership=membership, billing=billing)
            except services.MembershipError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(
                    request,
                    f"Invoice {invoice.number} is issued: {invoice.balance_display}, due by "
                    f"{date_format(invoice.due_date)}. Your membership starts when the payment "
                    "reaches us.",
                )
                return redirect("membership:account")
    return render(
        request,
        "membership/join_invoice.html",
        {"plan": plan, "form": form, "practice_form": practice_form},
        status=status,
    )


@login_required
def welcome(request):
    """Where Checkout returns. The webhook activates the membership; this page also asks a
    worker to read the session now, and polls until the membership is active."""
    from .tasks import checkout_session_sync

    session_id = request.GET.get("session_id", "")
    if session_id:
        if not gateway.is_stripe_id(session_id, "checkout_session"):
            reason = "That link does not name a checkout session. Your payment, if any, is safe."
            return render(request, "400.html", {"reason": reason}, status=400)
        checkout_session_sync.delay(session_id)
    if access.is_active_member(request.user):
        return redirect("membership:welcome-profile")
    return render(request, "membership/welcome.html")


@login_required
def welcome_profile(request):
    """The last step of joining: the name, practice and title colleagues will see, and whether
    to be listed in the directory. Skipping it is fine; the account page links to the profile."""
    if not access.is_active_member(request.user):
        return redirect("membership:account")
    profile = MemberProfile.objects.filter(user=request.user).first()
    initial = {}
    membership = services.membership_for_user(request.user)
    if profile is None and membership is not None and membership.practice_id:
        initial["practice_name"] = membership.practice.name
    form = WelcomeProfileForm(
        request.POST or None, instance=profile, initial=initial, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(
            request,
            f"Welcome to {settings.WAGTAIL_SITE_NAME}, {request.user.first_name}. "
            "Your membership is active.",
        )
        return redirect("membership:account")
    return render(request, "membership/welcome_profile.html", {"form": form})


@never_cache
@login_required
def status_json(request):
    return JsonResponse({"active": access.is_active_member(request.user)})


@login_required
def account(request):
    """Status, billing and receipts; for a practice admin, the seats."""
    user = request.user
    membership = services.membership_for_user(user)
    seat_membership = services.seat_membership_for_user(user)
    seats = payments = None
    history = []
    if membership is not None:
        payments = membership.payments.all()[:24]
        history = list(membership.history.select_related("actor")[:10])
        for entry in history:
            entry.member_reason = member_reason(entry.reason)
        if membership.practice_id:
            seats = membership.seats.filter(removed_at__isnull=True).select_related("user")
    return render(
        request,
        "membership/account.html",
        {
            "membership": membership,
            "seat_membership": seat_membership,
            "is_member": access.is_active_member(user),
            "payments": payments,
            "history": history,
            "seats": seats,
            "invite_form": InviteForm(),
            "profile": MemberProfile.objects.filter(user=user).first(),
            "open_invoices": Invoice.objects.filter(
                payer=user, status=Invoice.Status.OPEN, method=Invoice.Method.INVOICE
            ),
        },
    )


@require_POST
@login_required
def billing_portal(request):
    """Stripe's Customer Portal: card changes, cancellation, invoices."""
    membership = services.membership_for_user(request.user)
    if membership is None or not membership.stripe_customer_id:
        messages.info(request, "There is no card on file for your membership yet.")
        return redirect("membership:account")
    try:
        url = gateway.create_portal_session(
            customer_id=membership.stripe_customer_id,
            return_url=request.build_absolute_uri(reverse("membership:account")),
        )
    except gateway.GatewayError:
        log.exception("could not open the billing portal for %s", membership.pk)
        messages.error(request, "We could not reach our payment provider. Please try again.")
        return redirect("membership:account")
    return redirect(url)


@require_POST
@login_required
def seat_invite(request):
    membership = services.membership_for_user(request.user)
    form = InviteForm(request.POST)
    if membership is None or not membership.practice_id:
        return HttpResponseForbidden("Only a practice admin can invite staff.")
    if form.is_valid():
        try:
            seat = services.seat_invite(
                membership=membership, email=form.cleaned_data["email"], invited_by=request.user
            )
        except services.MembershipError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Invitation sent to {seat.email}.")
    else:
        messages.error(request, "Please enter a valid email address.")
    return redirect(reverse("membership:account") + "#practice")


@require_POST
@login_required
def seat_remove(request, pk):
    seat = get_object_or_404(Seat, pk=pk, membership__user=request.user)
    try:
        services.seat_remove(seat=seat, actor=request.user)
    except services.MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{seat.email} no longer has a seat.")
    return redirect(reverse("membership:account") + "#practice")


def invitation(request, token):
    """An invited staff member's link: sign up (the invited address counts as verified, as
    allauth allows for invitations), or log in, then accept."""
    seat = get_object_or_404(
        Seat.objects.select_related("membership__practice", "invited_by"), token=token
    )
    here = reverse("membership:invitation", args=[token])
    if seat.removed_at is not None:
        messages.error(request, "This invitation was withdrawn.")
        return redirect("membership:overview")
    if not request.user.is_authenticated:
        # The link arrived in this inbox, so whoever follows it controls the address.
        get_adapter(request).stash_verified_email(request, seat.email)
        return render(
            request,
            "membership/invitation.html",
            {
                "seat": seat,
                "signup_url": f"{reverse('account_signup')}?"
                + urlencode({"next": here, "email": seat.email}),
                "login_url": f"{reverse('account_login')}?{urlencode({'next': here})}",
            },
        )
    if request.method == "POST":
        try:
            services.seat_accept(seat=seat, user=request.user)
        except services.MembershipError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"You are now a member through {seat.membership.practice}.")
            return redirect("membership:account")
    return render(request, "membership/invitation.html", {"seat": seat})


@login_required
def profile_edit(request):
    profile = MemberProfile.objects.filter(user=request.user).first()
    form = ProfileForm(
        request.POST or None, request.FILES or None, instance=profile, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile is saved.")
        return redirect("membership:account")
    return render(request, "membership/profile_form.html", {"form": form})


@login_required
def account_delete(request):
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.account_delete(user=request.user)
        logout(request)
        messages.success(request, "Your account is deleted. Our records of payments remain.")
        return redirect("/")
    return render(request, "membership/account_delete.html", {"form": form})


@login_required
def directory(request):
    """Active members who opted in, for active members only."""
    if not access.is_active_member(request.user):
        return render(request, "membership/members_only.html", status=403)
    form = DirectorySearchForm(request.GET or None)
    q = state = ""
    if form.is_valid():
        q, state = form.cleaned_data["q"], form.cleaned_data["state"]
    page = Paginator(selectors.directory_profiles(q=q, state=state), 24).get_page(
        request.GET.get("page")
    )
    return render(request, "membership/directory.html", {"form": form, "page": page})


_LINK_STATUS = {
    services.LinkState.TAMPERED: 404,
    services.LinkState.EXPIRED: 410,
}


@never_cache
def renew(request, token):
    """The link in a renewal reminder: no login; a button opens Stripe Checkout for that
    membership. A GET never calls Stripe (mail scanners open links); the POST does."""
    link = services.renewal_read(token)
    here = reverse("membership:renew", args=[token])
    if request.method == "POST" and link.state == services.LinkState.OPEN:
        done = reverse("membership:renew-done", args=[token])
        try:
            session = services.membership_checkout(
                membership=link.membership,
                success_url=request.build_absolute_uri(done) + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=request.build_absolute_uri(here),
            )
        except gateway.GatewayError:
            log.exception("could not open Stripe Checkout to renew %s", link.membership.pk)
            messages.error(
                request, "We could not reach our payment provider. Please try again shortly."
            )
        else:
            return redirect(session.url, permanent=False)
    return render(
        request,
        "membership/renew.html",
        {"link": link, "m": link.membership, "states": services.LinkState},
        status=_LINK_STATUS.get(link.state, 200),
    )


@never_cache
def renew_done(request, token):
    """Where Checkout returns a renewal: thanks, and a worker reads the session now (the
    webhook also will). Shows nothing about the membership beyond what the link opens."""
    from .tasks import checkout_session_sync

    link = services.renewal_read(token)
    if link.state == services.LinkState.TAMPERED:
        return render(request, "membership/renew.html", {"link": link}, status=404)
    session_id = request.GET.get("session_id", "")
    if session_id:
        if not gateway.is_stripe_id(session_id, "checkout_session"):
            reason = "That link does not name a checkout session. Your payment, if any, is safe."
            return render(request, "400.html", {"reason": reason}, status=400)
        checkout_session_sync.delay(session_id)
    return render(request, "membership/renew_done.html", {"m": link.membership})
