"""Forms of the alerts' pages: the profile (e-mail address, rules received, password) and the
webhook channels."""

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.core.validators import URLValidator

from alerts.models import Rule, WebhookEndpoint
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


class WebhookURLField(forms.URLField):
    # Django's URLField also takes ftp:// and ftps://; a webhook is POSTed over http(s).
    default_validators = [URLValidator(schemes=["http", "https"])]


class WebhookEndpointForm(MarksInvalidFields, forms.ModelForm):
    """A webhook channel's settings. The secret is not among them: the portal generates it
    and shows it once (on creation, and when it is rotated), never in a form."""

    aria_invalid = True

    url = WebhookURLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        error_messages={"invalid": "Enter a valid URL, starting with https://."},
        help_text="Where the portal POSTs each alert: an https address on the internet "
        "(for Slack, the incoming webhook's URL).",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    rules = forms.ModelMultipleChoiceField(
        queryset=Rule.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The rules whose alerts it receives; none: it only gets tests.",
    )

    class Meta:
        model = WebhookEndpoint
        # An allow-list: a field added to the model later (the secret is one) never reaches
        # the page by accident.
        fields = ["name", "url", "format", "rules", "is_active"]
        widgets = {"format": forms.RadioSelect}
        help_texts = {
            "name": "How the portal names it, e.g. “Ops on-call” or “#billing on Slack”.",
            "is_active": "A disabled channel receives nothing, tests included.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update({"class": "form-control", "autocomplete": "off"})
        self.fields["url"].widget.attrs["class"] = "form-control font-monospace"
        self.fields["format"].widget.attrs["class"] = "form-check-input"
        self.fields["rules"].widget.attrs["class"] = "form-check-input"
        self.fields["is_active"].widget.attrs["class"] = "form-check-input"


CHOOSE = "Choose what to do with the channel: disable, enable or delete it."


class ChannelActionForm(forms.Form):
    """Disable, enable or delete a channel (the buttons of its page's last section)."""

    action = forms.ChoiceField(
        choices=[("disable", "Disable"), ("enable", "Enable"), ("delete", "Delete")],
        error_messages={"required": CHOOSE, "invalid_choice": CHOOSE},
    )
