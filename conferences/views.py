"""Registration, orders, tickets and the staff tools. Views parse, call a service, render."""

from __future__ import annotations

import csv
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from membership import access
from payments import invoicing
from payments.forms import InvoiceDetailsForm
from payments.gateway import GatewayError
from portal.spreadsheet import safe_cell

from . import capacity, pricing, selectors, selfservice, services, tickets
from .forms import (
    AttendeeDetailsForm,
    AttendeeFormSet,
    BreakoutWaitlistForm,
    CheckInForm,
    OrderForm,
    RegistrationFilterForm,
    SubstituteForm,
)
from .models import Attendee, ConferencePage, Order, Session, TicketType, WaitlistEntry


def _staff_page(allowed):
    """A staff page for users `allowed(user)` holds for: anonymous visitors are sent to log in,
    everyone else gets 403. The second factor is asked for before (membership.middleware)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.is_active or not allowed(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# Attendee lists, CSV, rosters and the dashboard: staff only.
staff_required = _staff_page(lambda user: user.is_staff)
# The check-in screen: staff and the check-in role (membership.access.may_check_in).
check_in_required = _staff_page(access.may_check_in)


def _conference(conference_id: int) -> ConferencePage:
    return get_object_or_404(ConferencePage.objects.live(), pk=conference_id)


def _own_order(request, code: str) -> Order:
    """The order, when the visitor placed it or is staff; a 404 for anyone else, so order
    codes cannot be probed."""
    order = get_object_or_404(Order.objects.select_related("conference", "owner"), code=code)
    if order.owner_id != request.user.pk and not request.user.is_staff:
        raise Http404
    return order


# --- Registering --------------------------------------------------------------------------------


@login_required
def register(request, conference_id: int):
    conference = _conference(conference_id)
    # An access code (?code= on the link staff send, then a hidden field) unlocks hidden
    # ticket types; the service checks it again, and counts its uses, under the seat lock.
    if request.method == "POST":
        code = request.POST.get("access_code", "")
    else:
        code = request.GET.get("code", "")
    access_code = selectors.access_code_unlocking(conference=conference, code=code[:40])
    if code.strip() and access_code is None:
        messages.error(request, "That access code is not valid.")
    offers = selectors.ticket_offers(
        conference=conference, user=request.user, access_code=access_code
    )
    slots = selectors.breakout_slots(conference)
    offer_token = request.GET.get("offer", "") or request.POST.get("offer", "")
    form_kwargs = {
        "offers": offers,
        "slots": slots,
        "max_attendees": conference.max_attendees_per_order,
    }
    sold_out = unpaid_order = None

    if request.method == "POST":
        data = request.POST.copy()
        if "add_attendee" in data:
            # Another attendee without JavaScript: one more empty form, nothing validated yet.
            # The management form parses the count (text or a missing one counts as none).
            total = AttendeeFormSet(data, form_kwargs=form_kwargs).total_form_count()
            data["form-TOTAL_FORMS"] = str(min(total + 1, 20))
        formset = AttendeeFormSet(data, form_kwargs=form_kwargs)
        order_form = OrderForm(data)
        if "add_attendee" in data or "edit" in data:
            # The forms as they were, no errors: one more attendee (the button's formaction
            # carries #attendee-N, so the page opens at the new form and register.js puts the
            # cursor in it), or back from the review to change something.
            return _render_register(
                request,
                conference,
                offers,
                formset,
                order_form,
                offer_token,
                access_code=access_code,
                adding=True,
            )
        if formset.is_valid() and order_form.is_valid():
            specs = [form.to_spec() for form in formset.forms]
            discount = order_form.cleaned_data["discount_code"]
            try:
                quote = pricing.quote(
                    conference=conference,
                    owner=request.user,
                    attendees=specs,
                    discount_code=discount,
                )
            except services.RegistrationError as error:
                messages.error(request, str(error))
            else:
                if "confirm" not in data:
                    return _render_review(request, conference, quote, formset)
                placed = _place_order(
                    request, conference, specs, discount, access_code, offer_token, quote
                )
                if isinstance(placed, HttpResponse):
                    return placed
                sold_out, unpaid_order = placed.get("sold_out"), placed.get("unpaid_order")
    else:
        initial = [
            {
                "first_name": request.user.first_name,
                "last_name": request.user.last_name,
                "email": request.user.email,
                "ticket_type": request.GET.get("ticket_type")
                or (offers[0]["ticket_type"].pk if offers else None),
            }
        ]
        formset = AttendeeFormSet(initial=initial, form_kwargs=form_kwargs)
        order_form = OrderForm()
    return _render_register(
        request,
        conference,
        offers,
        formset,
        order_form,
        offer_token,
        access_code=access_code,
        sold_out=sold_out,
        unpaid_order=unpaid_order,
    )


def _place_order(request, conference, specs, discount, access_code, offer_token, quote):
    """The reviewed order, placed: seats held under the lock, then Stripe (or, when it costs
    nothing, confirmed at once). A refusal returns what went wrong, for the form to show."""
    try:
        order = services.order_create(
            conference_id=conference.pk,
            owner=request.user,
            attendees=specs,
            discount_code=discount,
            access_code=access_code.code if access_code else "",
            waitlist_token=offer_token,
        )
    except services.SoldOut as error:
        messages.error(request, str(error))
        return {"sold_out": error}
    except services.UnpaidOrderExists as error:
        messages.error(request, str(error))
        return {"unpaid_order": error.order}
    except services.RegistrationError as error:
        messages.error(request, str(error))
        return {}
    if order.status == Order.Status.PAID:
        messages.success(request, "You are registered. Tickets are on their way.")
        return redirect("conferences:order", order.code)
    reviewed = request.POST.get("quoted_total", "")
    if reviewed != str(quote.total_cents) or order.total_cents != quote.total_cents:
        # The price moved between the review and now (an early-bird ended, membership
        # lapsed): the buyer sees the new total on the order page before paying it.
        messages.warning(
            request,
            f"The total changed since you reviewed it: it is now {order.total_display}. "
            "Your seats are held; check the order and pay when ready.",
        )
        return redirect("conferences:order", order.code)
    return _to_checkout(request, order)


# Fields of the register form a review page carries forward; the buttons are its own.
_REVIEW_BUTTONS = {"csrfmiddlewaretoken", "add_attendee", "edit", "confirm", "review", "submit"}


def _render_review(request, conference, quote, formset):
    carried = [
        (name, value)
        for name in request.POST
        if name not in _REVIEW_BUTTONS and name != "quoted_total"
        for value in request.POST.getlist(name)
    ]
    return render(
        request,
        "conferences/register_review.html",
        {
            "conference": conference,
            "quote": quote,
            "carried": carried,
            "policy": services.describe_refund_policy(conference),
            "hold_minutes": settings.CONFERENCE_HOLD_MINUTES,
        },
    )


def _render_register(
    request,
    conference,
    offers,
    formset,
    order_form,
    offer_token,
    *,
    access_code=None,
    sold_out=None,
    unpaid_order=None,
    adding=False,
):
    return render(
        request,
        "conferences/register.html",
        {
            "conference": conference,
            "offers": offers,
            "formset": formset,
            "order_form": order_form,
            "offer_token": offer_token,
            "sold_out": sold_out,
            "access_code": access_code,
            "unpaid_order": unpaid_order,
            "can_add_attendee": formset.total_form_count() < conference.max_attendees_per_order,
            "next_attendee": formset.total_form_count() + 1,
            "policy": services.describe_refund_policy(conference),
            # After "add another attendee" the half-filled forms are shown without errors.
            "adding": adding,
            "is_member": access.is_active_member(request.user),
        },
        status=409 if sold_out or unpaid_order else 200,
    )


def _to_checkout(request, order: Order):
    order_url = request.build_absolute_uri(reverse("conferences:order", args=[order.code]))
    try:
        url = services.order_checkout_start(
            order=order, success_url=f"{order_url}?paid=1", cancel_url=order_url
        )
    except services.RegistrationError as error:
        messages.error(request, str(error))
        return redirect("conferences:order", order.code)
    except GatewayError as error:
        messages.error(
            request,
            error.user_message or "Payment is unavailable right now; your seats are held.",
        )
        return redirect("conferences:order", order.code)
    return redirect(url)


@login_required
def order_detail(request, code: str):
    order = _own_order(request, code)
    invoice, receipts = services.order_documents(order)
    attendees = order.attendees.select_related("ticket_type").prefetch_related("choices__session")
    return render(
        request,
        "conferences/order.html",
        {
            "order": order,
            "conference": order.conference,
            "attendees": attendees,
            "just_paid": request.GET.get("paid") and order.status == Order.Status.HELD,
            "refund_amount": services.order_refund_amount(order=order),
            "policy": services.describe_refund_policy(order.conference),
            "can_substitute": order.status == Order.Status.PAID
            and order.conference.substitution_allowed(timezone.localdate()),
            "full_breakouts": _full_breakouts(order) if order.status == Order.Status.PAID else [],
            "invoice_allowed": services.invoice_allowed(order)
            and order.owner_id == request.user.pk,
            "invoice": invoice,
            "receipts": receipts,
            "credit_notes": list(invoice.credit_notes.all()) if invoice else [],
        },
    )


@login_required
def order_invoice(request, code: str):
    """Pay by invoice (check or ACH): the buyer names who is billed, the invoice is issued at
    once and the seats stay held until its due date. The buyer's own order only."""
    order = _own_order(request, code)
    if order.owner_id != request.user.pk:
        raise Http404
    if not services.invoice_allowed(order):
        return render(
            request,
            "400.html",
            {"reason": "This order cannot be paid by invoice."},
            status=409 if order.status != Order.Status.HELD else 400,
        )
    profile = invoicing.billing_profile_for(request.user.pk)
    form = InvoiceDetailsForm(
        request.POST or None,
        initial={
            "organization": profile.organization,
            "address": profile.address,
            "tax_id": profile.tax_id,
        },
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            billing = invoicing.Billing.typed_by(request.user, data)
            try:
                invoice = services.order_pay_by_invoice(
                    order_id=order.pk, by_user=request.user, billing=billing
                )
            except services.RegistrationError as error:
                form.add_error(None, str(error))
                status = 409
            else:
                messages.success(
                    request,
                    f"Invoice {invoice.number} is issued. Your seats are held until "
                    f"{date_format(invoice.due_date)}.",
                )
                return redirect("conferences:order", order.code)
    return render(
        request,
        "conferences/order_invoice.html",
        {"order": order, "conference": order.conference, "form": form},
        status=status,
    )


def _full_breakouts(order: Order) -> list[Session]:
    """Break-outs with no seat left, which an attendee may wait for."""
    left = capacity.seats_left_by_session(order.conference)
    return [
        s
        for s in order.conference.sessions.filter(kind=Session.Kind.BREAKOUT)
        if left.get(s.pk, 0) == 0
    ]


@login_required
@require_POST
def order_pay(request, code: str):
    order = _own_order(request, code)
    if order.status != Order.Status.HELD:
        messages.error(request, "This order is not waiting for payment.")
        return redirect("conferences:order", order.code)
    return _to_checkout(request, order)


@login_required
def order_cancel(request, code: str):
    order = _own_order(request, code)
    if request.method == "POST":
        try:
            services.order_cancel(order_id=order.pk, by_user=request.user)
        except (services.RegistrationError, PermissionError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Your order is canceled.")
        return redirect("conferences:order", order.code)
    return render(
        request,
        "conferences/order_cancel.html",
        {
            "order": order,
            "conference": order.conference,
            "refund_amount": services.order_refund_amount(order=order),
            "policy": services.describe_refund_policy(order.conference),
        },
    )


@login_required
def attendee_substitute(request, code: str, attendee_id: int):
    order = _own_order(request, code)
    attendee = get_object_or_404(order.attendees, pk=attendee_id)
    form = SubstituteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.attendee_substitute(
                attendee_id=attendee.pk, by_user=request.user, **form.cleaned_data
            )
        except (services.RegistrationError, PermissionError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Attendee changed. The new ticket is on its way.")
            return redirect("conferences:order", order.code)
    return render(
        request,
        "conferences/attendee_substitute.html",
        {"order": order, "attendee": attendee, "form": form, "conference": order.conference},
    )


# --- Tickets ------------------------------------------------------------------------------------


@login_required
def ticket(request, code: str):
    """The QR code's address: the attendee's ticket, or for staff the check-in screen."""
    attendee = get_object_or_404(
        Attendee.objects.select_related("order__conference", "ticket_type"), ticket_code=code
    )
    conference = attendee.order.conference
    if access.may_check_in(request.user):
        return redirect(
            reverse("conferences:staff-checkin", args=[conference.pk]) + f"?code={code}"
        )
    user_email = (request.user.email or "").lower()
    if attendee.order.owner_id != request.user.pk and attendee.email.lower() != user_email:
        raise Http404
    return render(
        request,
        "conferences/ticket.html",
        {
            "attendee": attendee,
            "conference": conference,
            "qr_svg": tickets.qr_svg(attendee)
            if attendee.order.status == Order.Status.PAID
            else "",
            "breakouts": [c.session for c in attendee.choices.select_related("session")],
        },
    )


@login_required
def ticket_ics(request, code: str):
    attendee = get_object_or_404(
        Attendee.objects.select_related("order__conference"), ticket_code=code
    )
    user_email = (request.user.email or "").lower()
    if (
        attendee.order.owner_id != request.user.pk
        and attendee.email.lower() != user_email
        and not request.user.is_staff
    ):
        raise Http404
    response = HttpResponse(tickets.attendee_ics(attendee), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="{attendee.order.conference.slug}.ics"'
    return response


# --- The attendee's own link (no account) -------------------------------------------------------


def _by_link(request, token: str):
    """The attendee a signed link opens, or the page that says why it opens nothing: 404 for
    a link we never issued (tampered), 410 for one that was revoked or has expired."""
    try:
        return tickets.attendee_for_token(token), None
    except tickets.LinkInvalid:
        reason, status = "This ticket link is not valid. Check that it was copied whole.", 404
    except tickets.LinkRevoked as error:
        reason, status = str(error), 410
    response = render(
        request, "conferences/ticket_link_invalid.html", {"reason": reason}, status=status
    )
    return None, response


def attendee_ticket(request, token: str):
    """The QR code's address. Staff who may check in are taken to check-in for this ticket
    (the check-in area then asks for their second factor); anyone else with the link sees the
    ticket, with its QR code, calendar file, break-outs, needs and the refund policy."""
    attendee, refused = _by_link(request, token)
    if refused:
        return refused
    conference = attendee.order.conference
    if access.may_check_in(request.user) and "as_attendee" not in request.GET:
        # A phone that opened a session's door page (education) scans for that door.
        door = request.session.get("education_door")
        if isinstance(door, list) and len(door) == 2 and door[0] == conference.pk:
            return redirect(
                reverse("education:staff-door", args=[conference.pk, door[1]])
                + f"?code={attendee.ticket_code}"
            )
        return redirect(
            reverse("conferences:staff-checkin", args=[conference.pk])
            + f"?code={attendee.ticket_code}"
        )
    return render(
        request,
        "conferences/attendee_ticket.html",
        {
            "attendee": attendee,
            "conference": conference,
            "token": token,
            "valid": attendee.order.status == Order.Status.PAID,
            "qr_svg": tickets.qr_svg(attendee)
            if attendee.order.status == Order.Status.PAID
            else "",
            "breakouts": [
                c.session
                for c in attendee.choices.select_related("session").order_by("slot_starts_at")
            ],
            "policy": services.describe_refund_policy(conference),
            "location": tickets.venue_location(conference),
        },
    )


def attendee_ticket_ics(request, token: str):
    attendee, refused = _by_link(request, token)
    if refused:
        return refused
    response = HttpResponse(tickets.attendee_ics(attendee), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="{attendee.order.conference.slug}.ics"'
    return response


def attendee_details(request, token: str):
    """The attendee changes their needs and, while seats are free, their break-outs."""
    attendee, refused = _by_link(request, token)
    if refused:
        return refused
    conference = attendee.order.conference
    if attendee.order.status != Order.Status.PAID:
        return render(
            request,
            "conferences/ticket_link_invalid.html",
            {"reason": "Only a confirmed ticket can be changed."},
            status=409,
        )
    slots = selectors.breakout_slots(conference)
    form = AttendeeDetailsForm(request.POST or None, attendee=attendee, slots=slots)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            change = selfservice.attendee_update(
                attendee_id=attendee.pk,
                ticket_code=attendee.ticket_code,
                dietary_needs=form.cleaned_data["dietary_needs"],
                accessibility_needs=form.cleaned_data["accessibility_needs"],
                breakouts=form.breakouts(),
            )
        except services.RegistrationError as error:
            messages.error(request, str(error))
            status = 409
            # Seats moved meanwhile: show the counts as they are now.
            form = AttendeeDetailsForm(
                request.POST,
                attendee=attendee,
                slots=selectors.breakout_slots(conference),
            )
            form.is_valid()
        else:
            if change.breakouts_changed:
                messages.success(
                    request, "Saved. Your updated ticket and calendar file are on their way."
                )
            elif change.needs_changed:
                messages.success(request, "Saved. The organizers will see your new details.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("conferences:attendee-ticket", token)
    return render(
        request,
        "conferences/attendee_details.html",
        {"attendee": attendee, "conference": conference, "form": form, "token": token},
        status=status,
    )


# --- Waitlist -----------------------------------------------------------------------------------


@login_required
@require_POST
def waitlist_join(request, ticket_type_id: int):
    ticket_type = get_object_or_404(
        TicketType, pk=ticket_type_id, is_active=True, requires_code=False
    )
    try:
        services.waitlist_join(ticket_type_id=ticket_type.pk, user=request.user)
    except services.SeatsAvailable as error:
        messages.error(request, str(error))
        url = reverse("conferences:register", args=[ticket_type.conference_id])
        return redirect(f"{url}?ticket_type={ticket_type.pk}")
    except services.RegistrationError as error:
        messages.error(request, str(error))
        return redirect(ticket_type.conference.url or "/")
    messages.success(
        request,
        f"You are on the waitlist for {ticket_type.name}. When a seat frees up we email you a "
        "link that holds it for you for 48 hours.",
    )
    return redirect(ticket_type.conference.url or "/")


@login_required
def waitlist_offer(request, token: str):
    entry = get_object_or_404(
        WaitlistEntry.objects.select_related("session", "attendee", "conference"),
        token=token,
        user=request.user,
    )
    if entry.status != WaitlistEntry.Status.OFFERED or entry.offer_expires_at <= timezone.now():
        messages.error(request, "This offer has lapsed. You can join the waitlist again.")
        return redirect(entry.conference.url or "/")
    if entry.session_id is None:
        url = reverse("conferences:register", args=[entry.conference_id])
        return redirect(f"{url}?offer={token}&ticket_type={entry.ticket_type_id}")
    if request.method == "POST":
        try:
            attendee = services.attendee_take_breakout_offer(token=token, by_user=request.user)
        except services.RegistrationError as error:
            messages.error(request, str(error))
            return redirect(entry.conference.url or "/")
        messages.success(request, f"{attendee.full_name} now has a seat in {entry.session.title}.")
        return redirect("conferences:order", attendee.order.code)
    current = entry.attendee.choices.filter(slot_starts_at=entry.session.starts_at).first()
    return render(
        request,
        "conferences/breakout_offer.html",
        {"entry": entry, "conference": entry.conference, "current": current},
    )


@login_required
@require_POST
def breakout_waitlist_join(request, code: str, attendee_id: int):
    order = _own_order(request, code)
    attendee = get_object_or_404(order.attendees, pk=attendee_id)
    form = BreakoutWaitlistForm(request.POST)
    try:
        entry = services.waitlist_join_breakout(
            attendee_id=attendee.pk,
            session_id=form.cleaned_data["session"] if form.is_valid() else 0,
            by_user=request.user,
        )
    except (services.RegistrationError, PermissionError, Session.DoesNotExist) as error:
        messages.error(request, str(error) or "Choose a break-out.")
    else:
        messages.success(
            request,
            f"{attendee.first_name} is on the waitlist for {entry.session.title}. When a seat "
            "frees up we email you a link that holds it for 48 hours.",
        )
    return redirect("conferences:order", order.code)


# --- Staff tools --------------------------------------------------------------------------------


@staff_required
def staff_registrations(request, conference_id: int):
    conference = _conference(conference_id)
    filter_form = RegistrationFilterForm(
        request.GET, conference=conference, statuses=Order.Status.choices
    )
    filters = filter_form.filters()
    if filter_form.errors:
        messages.warning(request, "Some filters were not understood and are not applied.")
    rows = selectors.registrations(conference=conference, **filters)
    return render(
        request,
        "conferences/staff/registrations.html",
        {
            "conference": conference,
            "rows": rows[:500],
            "count": rows.count(),
            "filters": filters,
            "statuses": Order.Status.choices,
            "ticket_types": conference.ticket_types.all(),
            "breakouts": conference.sessions.filter(kind=Session.Kind.BREAKOUT),
            "stats": selectors.dashboard(conference),
        },
    )


@staff_required
def staff_export(request, conference_id: int):
    conference = _conference(conference_id)
    rows = selectors.registrations(conference=conference, status=Order.Status.PAID)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{conference.slug}-attendees.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "First name",
            "Last name",
            "Email",
            "Practice",
            "Ticket",
            "Break-outs",
            "Dietary needs",
            "Accessibility",
            "Order",
            "Ticket code",
            "Checked in",
        ]
    )
    for a in rows:
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    a.first_name,
                    a.last_name,
                    a.email,
                    a.practice,
                    a.ticket_type.name,
                    "; ".join(c.session.title for c in a.choices.all()),
                    a.dietary_needs,
                    a.accessibility_needs,
                    a.order.code,
                    a.ticket_code,
                    timezone.localtime(a.checked_in_at).isoformat(timespec="minutes")
                    if a.checked_in_at
                    else "",
                )
            ]
        )
    return response


@staff_required
def staff_roster(request, conference_id: int, session_id: int):
    conference = _conference(conference_id)
    session = get_object_or_404(conference.sessions, pk=session_id)
    attendees = (
        Attendee.objects.filter(choices__session=session, order__status=Order.Status.PAID)
        .select_related("ticket_type")
        .order_by("last_name", "first_name")
    )
    return render(
        request,
        "conferences/staff/roster.html",
        {"conference": conference, "session": session, "attendees": attendees},
    )


@check_in_required
def staff_checkin(request, conference_id: int):
    """Phone-sized check-in: scan a QR code or search by name, then tap "Check in"."""
    conference = _conference(conference_id)
    result = None
    if request.method == "POST":
        form = CheckInForm(request.POST)
        if form.is_valid():
            try:
                result = services.attendee_check_in(
                    conference_id=conference.pk,
                    ticket_code=form.cleaned_data["code"],
                    by_user=request.user,
                )
            except services.RegistrationError as error:
                messages.error(request, str(error))
    q = request.GET.get("q", "").strip()
    code = request.GET.get("code", "").strip().upper()
    found = None
    matches = []
    if code:
        found = (
            Attendee.objects.filter(ticket_code=code, order__conference=conference)
            .select_related("order", "ticket_type")
            .first()
        )
        if found is None:
            messages.error(request, f"No ticket {code} for this conference.")
    elif q:
        matches = selectors.registrations(conference=conference, status=Order.Status.PAID, q=q)[:25]
    return render(
        request,
        "conferences/staff/checkin.html",
        {
            "conference": conference,
            "result": result,
            "found": found,
            "matches": matches,
            "q": q,
            "stats": selectors.dashboard(conference),
        },
    )


@staff_required
def staff_dashboard(request, conference_id: int):
    conference = _conference(conference_id)
    return render(
        request,
        "conferences/staff/dashboard.html",
        {"conference": conference, "stats": selectors.dashboard(conference)},
    )
