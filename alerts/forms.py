"""The profile page's forms: the e-mail address alerts go to, and the rules received."""

from django import forms
from django.contrib.auth.forms import PasswordChangeForm

from alerts.models import Rule
from alerts.selectors.profile import SubscriptionRow
from alerts.services.profile import EMAIL_MAX_LENGTH
from portal.forms import MarksInvalidFields


class EmailForm(MarksInvalidFields, forms.Form):
    aria_invalid = True
    email = forms.EmailField(
        label="E-mail address",
        max_length=EMAIL_MAX_LENGTH,
        help_text="Alerts are sent here.",
        widget=forms.EmailInput(attrs={"class": "form-control", "autocomplete": "email"}),
        error_messages={"required": "Enter the e-mail address alerts should go to."},
    )


class SubscriptionsForm(forms.Form):
    """A checkbox per rule the user may receive, ticked where they receive it now."""

    def __init__(self, *args, rows: list[SubscriptionRow], **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = {f"rule_{row.rule.pk}": row for row in rows}
        for name, row in self.rows.items():
            self.fields[name] = forms.BooleanField(
                label=row.rule.name,
                required=False,
                initial=row.subscribed,
                help_text=row.rule.info.help,
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )

    def entries(self):
        """(bound field, row) per rule, for the template."""
        return [(self[name], row) for name, row in self.rows.items()]

    def chosen(self) -> dict[Rule, bool]:
        return {row.rule: self.cleaned_data[name] for name, row in self.rows.items()}


class PasswordForm(MarksInvalidFields, PasswordChangeForm):
    aria_invalid = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"
