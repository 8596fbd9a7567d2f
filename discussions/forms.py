from django import forms
from django.contrib.auth import get_user_model

from membership.access import is_active_member

from .models import Subscription, ThreadPreference


class PostForm(forms.Form):
    subject = forms.CharField(max_length=200)
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 10}),
        max_length=50_000,
        help_text="Plain text. Never include patient names, dates of birth or record numbers.",
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 7}),
        max_length=50_000,
        help_text="Goes to everyone on the list. No patient details, please.",
    )


class SubscriptionForm(forms.Form):
    mode = forms.ChoiceField(
        label="Delivery",
        choices=[("", "Not subscribed"), *Subscription.Mode.choices],
        required=False,
    )


class ThreadPreferenceForm(forms.Form):
    state = forms.ChoiceField(
        choices=[("", "Default"), *ThreadPreference.State.choices], required=False
    )


class SearchForm(forms.Form):
    q = forms.CharField(label="Search the archive", max_length=200, required=False)


class JoinRequestForm(forms.Form):
    note = forms.CharField(
        label="Why you would like to join (optional)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label="Member's email address", max_length=254)

    def clean(self):
        data = super().clean()
        email = data.get("email")
        if email:
            user = (
                get_user_model()
                .objects.filter(emailaddress__email__iexact=email, emailaddress__verified=True)
                .first()
            )
            if user is None or not is_active_member(user):
                raise forms.ValidationError("No active member has that verified address.")
            data["user"] = user
        return data


class PrivateReplyForm(forms.Form):
    subject = forms.CharField(max_length=200)
    body = forms.CharField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=50_000,
        help_text="Goes to the author alone; they see your name and can answer you directly. "
        "No patient details, please.",
    )
