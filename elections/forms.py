"""Forms for nominating and answering a nomination. The ballot is parsed by
services.voting.ballot_parse, which refuses a tampered form whole."""

from __future__ import annotations

from django import forms

from .models import Office

PHOTO_HELP = "Optional. A square JPEG or PNG works best."


class NominationForm(forms.Form):
    office = forms.ModelChoiceField(queryset=Office.objects.none(), empty_label=None)
    nominee_email = forms.EmailField(
        label="Nominee's email",
        help_text="The address the member uses with us. To stand yourself, give your own.",
    )
    statement = forms.CharField(
        label="Candidate statement",
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=3000,
        help_text="For self-nominations. Someone you nominate writes their own when they accept.",
    )
    photo = forms.ImageField(required=False, help_text=PHOTO_HELP)

    def __init__(self, *args, election, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = election.offices.all()


class ResponseForm(forms.Form):
    answer = forms.ChoiceField(
        choices=[("accept", "I accept and will stand"), ("decline", "I decline")],
        widget=forms.RadioSelect,
    )
    statement = forms.CharField(
        label="Candidate statement",
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=3000,
    )
    photo = forms.ImageField(required=False, help_text=PHOTO_HELP)


class ReceiptForm(forms.Form):
    receipt = forms.CharField(label="Receipt code", max_length=20)
