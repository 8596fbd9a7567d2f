from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from .models import US_STATES, MemberProfile, Plan

STATE_CHOICES = [("", "Any state"), *US_STATES]


class PracticeForm(forms.Form):
    practice_name = forms.CharField(label="Practice name", max_length=160)
    practice_city = forms.CharField(label="City", max_length=80, required=False)
    practice_state = forms.ChoiceField(
        label="State", choices=[("", "—"), *US_STATES], required=False
    )


class ProfileForm(forms.ModelForm):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)

    class Meta:
        model = MemberProfile
        fields = [
            "first_name",
            "last_name",
            "job_title",
            "practice_name",
            "city",
            "state",
            "phone",
            "specialty",
            "photo",
            "in_directory",
        ]
        widgets = {"phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["first_name"].initial = user.first_name
        self.fields["last_name"].initial = user.last_name

    def save(self, commit=True):
        self.instance.user = self.user
        profile = super().save(commit=commit)
        self.user.first_name = self.cleaned_data["first_name"]
        self.user.last_name = self.cleaned_data["last_name"]
        if commit:
            self.user.save(update_fields=["first_name", "last_name"])
        return profile


class InviteForm(forms.Form):
    email = forms.EmailField(label="Staff member's email")


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Type your password to confirm.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password


class DirectorySearchForm(forms.Form):
    q = forms.CharField(label="Name or practice", required=False, max_length=100)
    state = forms.ChoiceField(label="State", choices=STATE_CHOICES, required=False)


class ComplimentaryForm(forms.Form):
    email = forms.EmailField(help_text="The person's account email.")
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.filter(kind=Plan.Kind.INDIVIDUAL), empty_label=None
    )
    ends_on = forms.DateField(
        label="Ends on", widget=forms.DateInput(attrs={"type": "date"}), help_text="Last day."
    )
    reason = forms.CharField(max_length=200, help_text="Recorded in the member's history.")

    def clean_email(self):
        email = self.cleaned_data["email"]
        user = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise forms.ValidationError("No account uses this email.")
        self.user = user
        return email
