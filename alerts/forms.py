"""The alert pages' forms: a user's e-mail address, subscriptions and password (the
profile page); snoozing an alert; a rule with who receives it (the rules page); a webhook
channel (the channels page)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.core.validators import URLValidator
from django.utils import timezone

from alerts.kinds import KINDS, Kind
from alerts.models import Rule, WebhookEndpoint
from alerts.selectors.profile import SubscriptionRow
from alerts.selectors.rules import reminder_in_words
from alerts.services.alerts import LONGEST_SNOOZE
from alerts.services.profile import EMAIL_MAX_LENGTH
from portal.forms import MarksInvalidFields

# --- The profile page -------------------------------------------------------------------------


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


# --- Snoozing -------------------------------------------------------------------------------

SNOOZE_FOR = {
    "hour": (timedelta(hours=1), "1 hour"),
    "day": (timedelta(days=1), "1 day"),
    "week": (timedelta(weeks=1), "1 week"),
}


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        # What the browser's picker reads and sends, in the portal's time zone.
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class SnoozeForm(MarksInvalidFields, forms.Form):
    """For how long (one of SNOOZE_FOR, a button each) or until when (a time typed)."""

    aria_invalid = True

    duration = forms.ChoiceField(
        choices=[(key, label) for key, (_, label) in SNOOZE_FOR.items()], required=False
    )
    until = forms.DateTimeField(label="Snooze until", required=False, widget=DateTimeLocalInput)

    def clean(self):
        cleaned = super().clean()
        now = timezone.now()
        duration, until = cleaned.get("duration"), cleaned.get("until")
        if duration:
            cleaned["until"] = now + SNOOZE_FOR[duration][0]
        elif "until" in self.errors or "duration" in self.errors:
            pass
        elif until is None:
            self.add_error("until", "Choose how long to snooze for, or a time to snooze until.")
        elif until <= now:
            self.add_error("until", "Choose a time to come: this one has passed.")
        elif until > now + LONGEST_SNOOZE:
            self.add_error(
                "until",
                f"Snooze for {LONGEST_SNOOZE.days} days at most; acknowledge the alert to stop "
                "its reminders until it clears.",
            )
        return cleaned


# --- Rules ----------------------------------------------------------------------------------

# What each parameter means for each kind that uses it (alerts.kinds.KINDS[kind].parameters).
PARAMETER_LABELS = {
    (Kind.RUNWAY, "days"): "Runway under (days)",
    (Kind.RENEWAL_AT_RISK, "days"): "Renewals due within (days)",
    (Kind.SYNC_FAILING, "hours"): "No successful sync for (hours)",
    (Kind.SYNC_FAILING, "failed_runs"): "Failed runs in a row",
    (Kind.UNKNOWN_PURCHASES, "minutes"): "Unknown for more than (minutes)",
    (Kind.IDLE_DIGEST, "days"): "No calls in (days)",
}
# The largest value that still means something (and fits the column).
PARAMETER_LIMITS = {"days": 3650, "hours": 8760, "failed_runs": 1000, "minutes": 43200}
PARAMETERS = tuple(PARAMETER_LIMITS)

REMINDERS = [
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(weeks=1),
]
NEVER = ""


def reminder_choice(period: timedelta | None) -> str:
    return NEVER if period is None else str(int(period.total_seconds()))


def reminder_choices(current: timedelta | None) -> list[tuple[str, str]]:
    """Never, hourly, every 6 hours, daily, weekly; and the rule's own period where it is
    another (a default rule reminds every 12 hours), so saving never changes it unasked."""
    periods = [None, *REMINDERS]
    if current not in periods:
        periods.append(current)
        periods[1:] = sorted(periods[1:])
    return [(reminder_choice(p), reminder_in_words(p).capitalize()) for p in periods]


def parameter_field(label: str, name: str) -> forms.IntegerField:
    """A parameter its kind needs: a whole number from 1 up to its limit."""
    limit = PARAMETER_LIMITS[name]
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=limit,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": f"Enter {label.lower()}: a whole number, 1 or more.",
            "invalid": "Enter a whole number, 1 or more.",
            "min_value": f"{label} must be 1 or more.",
            "max_value": f"{label} must be {limit:,} at most.",
        },
    )


class RuleForm(MarksInvalidFields, forms.ModelForm):
    """A rule's name, whether it is active, the parameters of its kind (the others are not
    on the form and stay empty), its reminder period, and who receives it: every user who
    may receive it, ticked where they receive it now."""

    aria_invalid = True

    remind_every = forms.TypedChoiceField(
        label="Remind",
        required=False,
        coerce=lambda seconds: timedelta(seconds=int(seconds)),
        empty_value=None,
        help_text="While the alert stays open and nobody acknowledged it.",
    )
    receivers = forms.TypedMultipleChoiceField(
        label="Who receives it",
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Rule
        fields = ["name", "is_active", *PARAMETERS, "remind_every"]
        error_messages = {"name": {"unique": "Another rule already has this name."}}

    def __init__(self, *args, receivers, **kwargs):
        """`receivers`: each user who may receive the rule, with whether they do now
        (alerts.selectors.rules.receivers)."""
        super().__init__(*args, **kwargs)
        kind = self.instance.kind
        for name in PARAMETERS:
            if name in KINDS[kind].parameters:
                self.fields[name] = parameter_field(PARAMETER_LABELS[(kind, name)], name)
            else:
                del self.fields[name]
        self.fields["name"].widget.attrs["autocomplete"] = "off"
        self.fields["is_active"].help_text = "Inactive rules are not evaluated and send nothing."
        self.fields["is_active"].widget.attrs["class"] = "form-check-input"
        self.fields["remind_every"].choices = reminder_choices(self.instance.remind_every)
        self.initial["remind_every"] = reminder_choice(self.instance.remind_every)
        self.users = {receiver.user.pk: receiver.user for receiver in receivers}
        self.fields["receivers"].choices = [
            (receiver.user.pk, receiver.user.get_username()) for receiver in receivers
        ]
        self.initial["receivers"] = [r.user.pk for r in receivers if r.receives]
        for name, field in self.fields.items():
            if name not in ("is_active", "receivers"):
                css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
                field.widget.attrs["class"] = css

    @property
    def parameter_fields(self):
        return [self[name] for name in PARAMETERS if name in self.fields]

    def receiver_options(self):
        """Each user who may receive the rule, with the checkbox of the form's field."""
        return [(self.users[int(option.data["value"])], option) for option in self["receivers"]]

    @property
    def chosen_receivers(self) -> set[int]:
        return set(self.cleaned_data["receivers"])

    @property
    def values(self) -> dict:
        """The rule's fields as the form leaves them (parameters of other kinds empty)."""
        return {
            name: self.cleaned_data.get(name)
            for name in ("name", "is_active", *PARAMETERS, "remind_every")
        }


class KindForm(forms.Form):
    """Which kind of rule to add (what the add page asks first)."""

    kind = forms.ChoiceField(label="Kind", choices=Kind.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].widget.attrs["class"] = "form-select"


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
