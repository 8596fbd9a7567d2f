from django import forms

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
