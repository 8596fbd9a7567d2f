from django import forms

from .models import ArticleAlertSubscription, BlogCategory


class FollowForm(forms.Form):
    email = forms.EmailField(label="Your email address", max_length=254)
    categories = forms.ModelMultipleChoiceField(
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
