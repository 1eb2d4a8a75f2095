"""Alert rules, the alerts they raise, who receives them and every delivery attempt.

An `Alert` is one episode of a rule's condition being true about one subject (an account, or
the whole portal): opened when it becomes true, cleared when it stops. At most one alert per
rule and subject is open at a time, by a unique constraint: the database guard that makes
two workers evaluating at once open it, and notify about it, once."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from encrypted_fields.fields import EncryptedTextField

from alerts.kinds import KINDS, Kind
from portal.choices import BadgeChoices
from portal.models import ProviderAccount
from portal.providers.network import base_url_problem


class Rule(models.Model):
    """A condition the portal watches, with its parameters (see alerts.kinds for which of
    them each kind uses) and how often it reminds while the condition stays true."""

    Kind = Kind

    kind = models.CharField(max_length=30, choices=Kind)
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField("active", default=True)
    days = models.PositiveIntegerField(null=True, blank=True)
    hours = models.PositiveIntegerField(null=True, blank=True)
    failed_runs = models.PositiveIntegerField("failed runs in a row", null=True, blank=True)
    minutes = models.PositiveIntegerField(null=True, blank=True)
    remind_every = models.DurationField(
        null=True,
        blank=True,
        help_text="Remind while the condition stays true and nobody acknowledged it "
        "(empty: never remind).",
    )

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name

    @property
    def info(self):
        return KINDS[self.kind]


class WebhookEndpoint(models.Model):
    """An HTTPS endpoint that receives alerts as signed JSON (or Slack's format)."""

    class Format(models.TextChoices):
        JSON = "json", "JSON (documented body, signed)"
        SLACK = "slack", "Slack-compatible (text)"

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField("URL", max_length=500)
    # Encrypted at rest like provider credentials; forms never render it back.
    secret = EncryptedTextField("signing secret")
    format = models.CharField(max_length=10, choices=Format, default=Format.JSON)
    rules = models.ManyToManyField(
        Rule, blank=True, related_name="webhooks", help_text="The rules it receives."
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        # The rule provider accounts' base URLs follow (portal.providers.network): checked
        # here when a form saves the endpoint, and again at every send.
        problem = base_url_problem(self.url or "", called="webhooks")
        if problem:
            raise ValidationError({"url": problem})


class Subscription(models.Model):
    """A user's own choice about a rule; without one, their role's default applies
    (alerts.kinds.KindInfo.default_roles; admins get everything)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscriptions"
    )
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="subscriptions")
    subscribed = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "rule"], name="one_subscription_per_rule")
        ]

    def __str__(self):
        return f"{self.user} {'receives' if self.subscribed else 'does not receive'} {self.rule}"


class Alert(models.Model):
    """One episode of a rule's condition being true about `subject`."""

    # The subject of the alert a channel's "Send a test" makes (opened and cleared at once),
    # so its delivery and attempts are logged like any other's.
    TEST_SUBJECT = "test"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="alerts")
    # What it is about: "account:<id>", "order:<id>", "portal" for the whole portal, or
    # TEST_SUBJECT.
    subject = models.CharField(max_length=100)
    account = models.ForeignKey(
        ProviderAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    summary = models.CharField(max_length=300)
    # The figures behind it (balance, threshold, currency, …), as strings: what messages show.
    facts = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    # The last round of notifications (0: when it fired; 1, 2, …: reminders), claimed by a
    # conditional update so two workers never send the same round.
    notified_round = models.PositiveIntegerField(default=0)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_alert_per_rule_and_subject",
            )
        ]
        indexes = [models.Index(fields=["cleared_at", "-opened_at"], name="alert_open")]

    def __str__(self):
        return self.summary

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class Delivery(models.Model):
    """One notification of one round of an alert to one recipient (an e-mail to a user) or
    one webhook endpoint, with its state; each try is a DeliveryAttempt."""

    class State(BadgeChoices):
        PENDING = "pending", "text-bg-light border", "Pending"
        RETRYING = "retrying", "text-bg-warning", "Retrying"
        SENT = "sent", "text-bg-success", "Sent"
        FAILED = "failed", "text-bg-danger", "Failed"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    round = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=Channel)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address = models.EmailField(blank=True)  # the e-mail address it went to, as it was
    webhook = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "round", "recipient"],
                condition=Q(channel="email"),
                name="one_email_per_round_and_recipient",
            ),
            models.UniqueConstraint(
                fields=["alert", "round", "webhook"],
                condition=Q(channel="webhook"),
                name="one_webhook_post_per_round",
            ),
        ]

    def __str__(self):
        to = self.webhook if self.channel == self.Channel.WEBHOOK else self.address
        return f"{self.alert} → {to} ({self.get_state_display()})"


class DeliveryAttempt(models.Model):
    """One try at a delivery: when, how long, and what came back (never a secret)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # The start of the response body or the error, cleaned of any secret.
    excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at"]

    def __str__(self):
        outcome = "ok" if self.ok else "failed"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {outcome} {self.status_code or ''}".strip()
