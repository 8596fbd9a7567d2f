from __future__ import annotations

from allauth.account import forms as allauth_forms
from django import forms
from django.contrib.auth import get_user_model

from .models import US_STATES, MemberProfile, Plan

STATE_CHOICES = [("", "Any state"), *US_STATES]


class Unsuffixed:
    """Labels without Django's trailing colon, as everywhere on the site."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _name_field(label: str, autocomplete: str) -> forms.CharField:
    """A name as the person writes it; browsers fill it from the `autocomplete` hint."""
    return forms.CharField(
        label=label, max_length=150, widget=forms.TextInput(attrs={"autocomplete": autocomplete})
    )


class SignupForm(allauth_forms.SignupForm):
    """allauth's sign-up with the person's name first: the site greets and lists people by it.
    (allauth's adapter copies first_name and last_name onto the new user.)"""

    first_name = _name_field("First name", "given-name")
    last_name = _name_field("Last name", "family-name")
    field_order = ["first_name", "last_name", "email", "password1", "password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "Email address"
        self.fields["password2"].label = "Password again"

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()


class LoginForm(allauth_forms.LoginForm):
    """allauth's log-in form; the page itself carries the one "Forgot your password?" link."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Email address"
        if "password" in self.fields:
            self.fields["password"].help_text = ""
        if "remember" in self.fields:
            self.fields["remember"].label = "Keep me logged in"


class WelcomeProfileForm(Unsuffixed, forms.ModelForm):
    """The step after paying: how the member appears to colleagues, and whether she does."""

    first_name = _name_field("First name", "given-name")
    last_name = _name_field("Last name", "family-name")

    class Meta:
        model = MemberProfile
        fields = ["first_name", "last_name", "practice_name", "job_title", "phone", "in_directory"]
        labels = {
            "practice_name": "Practice",
            "job_title": "Title",
            "phone": "Phone (optional)",
            "in_directory": "List me in the member directory",
        }
        widgets = {
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "job_title": forms.TextInput(attrs={"autocomplete": "organization-title"}),
            "practice_name": forms.TextInput(attrs={"autocomplete": "organization"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["first_name"].initial = user.first_name
        self.fields["last_name"].initial = user.last_name
        self.fields["phone"].required = False

    def save(self, commit=True):
        self.instance.user = self.user
        profile = super().save(commit=commit)
        self.user.first_name = self.cleaned_data["first_name"].strip()
        self.user.last_name = self.cleaned_data["last_name"].strip()
        if commit:
            self.user.save(update_fields=["first_name", "last_name"])
        return profile


class PracticeForm(Unsuffixed, forms.Form):
    practice_name = forms.CharField(label="Practice name", max_length=160)
    practice_city = forms.CharField(label="City", max_length=80, required=False)
    practice_state = forms.ChoiceField(
        label="State", choices=[("", "—"), *US_STATES], required=False
    )


class ProfileForm(Unsuffixed, forms.ModelForm):
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


class InviteForm(Unsuffixed, forms.Form):
    email = forms.EmailField(label="Staff member's email")


class DeleteAccountForm(Unsuffixed, forms.Form):
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


class DirectorySearchForm(Unsuffixed, forms.Form):
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


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A Wild Apricot or CiviCRM member export, or the template (see the README).",
    )


class ImportMappingForm(forms.Form):
    """Which column of the uploaded file feeds which field; Email is required."""

    send_invitations = forms.BooleanField(
        required=False,
        label="Mail new accounts a link to set their password",
        help_text="Once per person. Without it nobody is mailed.",
    )

    def __init__(self, *args, headings: list[str], fields: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Not in the file")] + [
            (str(i), heading or f"Column {i + 1}") for i, heading in enumerate(headings)
        ]
        mapped = {}
        for name, label in fields.items():
            mapped[name] = forms.ChoiceField(label=label, choices=choices, required=name == "email")
        self.fields = {**mapped, **self.fields}
        self.field_names = list(fields)

    def mapping(self) -> dict[str, int]:
        return {
            name: int(self.cleaned_data[name])
            for name in self.field_names
            if self.cleaned_data.get(name) not in (None, "")
        }

    def clean(self):
        cleaned = super().clean()
        used = [cleaned.get(name) for name in self.field_names if cleaned.get(name)]
        if len(used) != len(set(used)):
            raise forms.ValidationError("Each column can feed one field only.")
        return cleaned
