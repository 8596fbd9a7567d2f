"""Forms of the education pages. Codes are short; anything longer is refused before a lookup."""

from __future__ import annotations

from django import forms


class RoomCodeForm(forms.Form):
    code = forms.CharField(max_length=12, label="Code shown in the room", strip=True)


class DoorForm(forms.Form):
    # A scanned QR holds the ticket link; door.js turns it into the code, but a pasted link
    # is accepted too (the code is the part the view reads).
    code = forms.CharField(max_length=300, label="Ticket code", strip=True)

    def clean_code(self) -> str:
        value: str = self.cleaned_data["code"]
        if "/" in value:
            from conferences import tickets

            token = value.rstrip("/").rsplit("/", 1)[-1]
            try:
                return tickets.read_token(token).ticket_code
            except tickets.LinkInvalid as error:
                raise forms.ValidationError("That QR code is not one of our tickets.") from error
        if len(value) > 12:
            raise forms.ValidationError("A ticket code has at most 12 characters.")
        return value.upper()


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why it is revoked")


class ReissueForm(forms.Form):
    holder_name = forms.CharField(
        max_length=200, required=False, label="Name on the new certificate (empty: unchanged)"
    )
