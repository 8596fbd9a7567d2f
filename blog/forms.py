from django import forms

from .models import ArticleAlertSubscription, BlogCategory


class CategoriesField(forms.ModelMultipleChoiceField):
    """Category ids checked as numbers a database column holds before they are looked up (a
    20-digit id would overflow the query and answer 500)."""

    def _check_values(self, value):
        for pk in value:
            if not str(pk).isdigit() or len(str(pk)) > 18:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super()._check_values(value)


class FollowForm(forms.Form):
    email = forms.EmailField(label="Your email address", max_length=254)
    categories = CategoriesField(
        label="Categories",
        queryset=BlogCategory.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every article.",
    )
    frequency = forms.ChoiceField(
        label="How often",
        choices=ArticleAlertSubscription.Frequency.choices,
        initial=ArticleAlertSubscription.Frequency.EACH,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, member_email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if member_email:
            # A signed-in member follows with their verified address, in one click.
            del self.fields["email"]
