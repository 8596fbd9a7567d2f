"""Forms: a group registration is one form per attendee plus the order's discount code."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone

from .models import MAX_ATTENDEES_PER_ORDER
from .services import AttendeeSpec

MAX_ATTENDEES = MAX_ATTENDEES_PER_ORDER


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
        self.slot_fields = []
        for index, slot in enumerate(slots):
            name = f"slot_{index}"
            local = timezone.localtime(slot["starts_at"])
            self.fields[name] = forms.TypedChoiceField(
                label=f"Break-out {local:%A %-I:%M %p}",
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
                choices=[
                    (
                        s.pk,
                        f"{s.title} ({s.seats_left} seat{'s' if s.seats_left != 1 else ''} left)"
                        if s.seats_left
                        else f"{s.title} (full)",
                    )
                    for s in slot["sessions"]
                ]
                + [("", "No break-out in this slot")],
            )
            self.slot_fields.append(name)

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
