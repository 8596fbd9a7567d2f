"""Forms: a group registration is one form per attendee plus the order's discount code."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone

from .models import MAX_ATTENDEES_PER_ORDER
from .services import AttendeeSpec

MAX_ATTENDEES = MAX_ATTENDEES_PER_ORDER
# The value of "No break-out in this slot": a real choice, distinct from not choosing.
NO_BREAKOUT = 0
NO_CHOICE_ERROR = "Choose a break-out for this time slot, or “No break-out in this slot”."


def breakout_field(slot, *, current=None, disabled=False) -> forms.TypedChoiceField:
    """One time slot's radio buttons, with the seats left in each break-out. `current` is the
    session the attendee already has there (its seat is theirs, so it is never "full")."""
    local = timezone.localtime(slot["starts_at"])

    def label(s) -> str:
        if current is not None and s.pk == current:
            return f"{s.title} (your choice)"
        if s.seats_left:
            return f"{s.title} ({s.seats_left} seat{'s' if s.seats_left != 1 else ''} left)"
        return f"{s.title} (full)"

    return forms.TypedChoiceField(
        label=f"Break-out {local:%A %-I:%M %p}",
        coerce=int,
        empty_value=None,
        required=False,
        disabled=disabled,
        widget=forms.RadioSelect,
        choices=[(s.pk, label(s)) for s in slot["sessions"]]
        + [(NO_BREAKOUT, "No break-out in this slot")],
    )


class AttendeeForm(forms.Form):
    first_name = forms.CharField(max_length=80)
    last_name = forms.CharField(max_length=80)
    email = forms.EmailField(help_text="The ticket and calendar file go here.")
    practice = forms.CharField(max_length=160, required=False)
    ticket_type = forms.TypedChoiceField(coerce=int)
    dietary_needs = forms.CharField(max_length=300, required=False, label="Dietary needs")
    accessibility_needs = forms.CharField(
        max_length=300, required=False, label="Accessibility requests"
    )

    def __init__(self, *args, offers, slots, max_attendees=MAX_ATTENDEES, **kwargs):
        # max_attendees is for the formset (BaseAttendeeFormSet.clean), which reads it from
        # the form_kwargs it shares with its forms.
        super().__init__(*args, **kwargs)
        self.fields["ticket_type"].choices = [
            (
                o["ticket_type"].pk,
                f"{o['ticket_type'].name}: {o['price']}" + (" (sold out)" if o["sold_out"] else ""),
            )
            for o in offers
        ]
        self.offered_types = {o["ticket_type"].pk: o["ticket_type"] for o in offers}
        self.slot_fields = []
        self.slot_sessions = {}
        for index, slot in enumerate(slots):
            name = f"slot_{index}"
            self.fields[name] = breakout_field(slot)
            self.slot_fields.append(name)
            self.slot_sessions[name] = slot["sessions"]

    def clean(self):
        data = super().clean()
        # Nothing is chosen for the person: "no break-out" is an answer they give, not a
        # default, so a slot their ticket includes needs one of the options picked.
        ticket_type = self.offered_types.get(data.get("ticket_type"))
        if ticket_type is not None:
            for name in self.slot_fields:
                offered = any(ticket_type.allows_session(s) for s in self.slot_sessions[name])
                if offered and data.get(name) is None and name not in self.errors:
                    self.add_error(name, NO_CHOICE_ERROR)
        return data

    def breakout_fields(self):
        return [self[name] for name in self.slot_fields]

    def detail_fields(self):
        return [self[name] for name in ("dietary_needs", "accessibility_needs")]

    def to_spec(self) -> AttendeeSpec:
        data = self.cleaned_data
        return AttendeeSpec(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            practice=data["practice"],
            ticket_type_id=data["ticket_type"],
            dietary_needs=data["dietary_needs"],
            accessibility_needs=data["accessibility_needs"],
            session_ids=[data[name] for name in self.slot_fields if data.get(name)],
        )


class BaseAttendeeFormSet(BaseFormSet):
    def clean(self):
        # The conference's own cap, set by staff, below the formset's fixed maximum.
        limit = self.form_kwargs.get("max_attendees", MAX_ATTENDEES)
        if self.total_form_count() > limit:
            raise ValidationError(
                f"One order can register at most {limit} attendees. Register the others in "
                "a second order once this one is paid.",
                code="too_many_attendees",
            )


AttendeeFormSet = formset_factory(
    AttendeeForm,
    formset=BaseAttendeeFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=MAX_ATTENDEES,
    validate_max=True,
)


class OrderForm(forms.Form):
    discount_code = forms.CharField(max_length=40, required=False)


class SubstituteForm(forms.Form):
    first_name = forms.CharField(max_length=80)
    last_name = forms.CharField(max_length=80)
    email = forms.EmailField()
    practice = forms.CharField(max_length=160, required=False)
    dietary_needs = forms.CharField(max_length=300, required=False)
    accessibility_needs = forms.CharField(
        max_length=300, required=False, label="Accessibility requests"
    )


class CheckInForm(forms.Form):
    code = forms.CharField(max_length=12, label="Ticket code")


class RegistrationFilterForm(forms.Form):
    """The staff list's filters, read from the query string; a value that does not parse is
    dropped (with a message from the view) rather than reaching the database."""

    q = forms.CharField(max_length=200, required=False, strip=True)
    status = forms.ChoiceField(required=False)
    ticket_type = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, data, *, conference, statuses):
        super().__init__(data)
        self.fields["status"].choices = [("", "Any"), *statuses]
        self.fields["ticket_type"].queryset = conference.ticket_types.all()

    def filters(self) -> dict[str, str]:
        """The filters that parsed, as the strings the list and its form show."""
        self.is_valid()
        clean = {name: self.cleaned_data.get(name) for name in self.fields}
        ticket_type = clean["ticket_type"]
        return {
            "status": clean["status"] or "",
            "ticket_type": str(ticket_type.pk) if ticket_type else "",
            "q": clean["q"] or "",
        }


class BreakoutWaitlistForm(forms.Form):
    session = forms.IntegerField(min_value=1, max_value=2**31 - 1)


class AttendeeDetailsForm(forms.Form):
    """What an attendee changes through their ticket link: needs, and break-outs whose slot
    has not started. A slot that has started is shown, disabled, as it stands."""

    dietary_needs = forms.CharField(max_length=300, required=False, label="Dietary needs")
    accessibility_needs = forms.CharField(
        max_length=300, required=False, label="Accessibility requests"
    )

    def __init__(self, *args, attendee, slots, now=None, **kwargs):
        current = {c.slot_starts_at: c.session_id for c in attendee.choices.all()}
        kwargs.setdefault(
            "initial",
            {
                "dietary_needs": attendee.dietary_needs,
                "accessibility_needs": attendee.accessibility_needs,
            },
        )
        super().__init__(*args, **kwargs)
        now = now or timezone.now()
        self.slot_fields = {}
        index = 0
        for slot in slots:
            if not any(attendee.ticket_type.allows_session(s) for s in slot["sessions"]):
                continue
            name = f"slot_{index}"
            index += 1
            chosen = current.get(slot["starts_at"])
            self.fields[name] = breakout_field(
                slot, current=chosen, disabled=slot["starts_at"] <= now
            )
            self.initial[name] = chosen if chosen is not None else NO_BREAKOUT
            self.slot_fields[name] = slot["starts_at"]

    def breakout_fields(self):
        return [self[name] for name in self.slot_fields]

    def detail_fields(self):
        return [self[name] for name in ("dietary_needs", "accessibility_needs")]

    def breakouts(self) -> dict:
        """Slot start -> the session wanted (None for none), for the slots that may change."""
        return {
            starts_at: self.cleaned_data[name] or None
            for name, starts_at in self.slot_fields.items()
            if not self.fields[name].disabled and self.cleaned_data.get(name) is not None
        }
