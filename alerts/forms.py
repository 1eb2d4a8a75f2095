"""Forms of the alerts' pages."""

from django import forms
from django.core.validators import URLValidator

from alerts.models import Rule, WebhookEndpoint
from portal.forms import MarksInvalidFields


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
