from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from encrypted_fields.fields import EncryptedTextField

from portal.choices import BadgeChoices
from portal.money import currency_field, currency_is_iso_code, money_field
from portal.providers import adapter_class
from portal.providers.base import ProviderAdapter
from portal.providers.capabilities import Capability
from portal.providers.network import base_url_problem


class Provider(models.Model):
    """An upstream telephony provider. `slug` names the adapter that speaks its API."""

    slug = models.SlugField(unique=True, help_text="Adapter key: audian, vobiz, ravan, tryvox.")
    name = models.CharField(max_length=100, unique=True)
    docs_url = models.URLField("API documentation", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def adapter(self) -> type[ProviderAdapter] | None:
        """The adapter class that speaks this provider's API; None for a provider the portal
        has no adapter for (a row an admin added by hand)."""
        try:
            return adapter_class(self.slug)
        except LookupError:
            return None

    def supports(self, capability: Capability) -> bool:
        """Whether this provider's API offers `capability`, as its adapter declares."""
        return self.adapter is not None and self.adapter.supports(capability)

    @property
    def rental_period_days(self) -> int | None:
        """Days a rental lasts where the provider bills per period (Ravan: 28); None where
        it bills per calendar month or is unknown."""
        return self.adapter.rental_period_days if self.adapter else None


class ProviderAccount(models.Model):
    """One account the reseller holds at a provider, with the secret that spends its money."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="accounts")
    name = models.CharField(max_length=100, help_text="How staff refer to this account.")
    upstream_account_id = models.CharField(
        "upstream account id",
        max_length=100,
        help_text="The provider's id for the account (Audian account id, Vobiz MA_/SA_ auth id, "
        "Ravan organisation id, TryVox account id).",
    )
    base_url = models.URLField("API base URL", max_length=300)
    # Encrypted at rest; forms never render it back (see admin.ProviderAccountForm).
    api_secret = EncryptedTextField("API secret", blank=True, null=True)
    currency = currency_field()
    low_balance_threshold = money_field(
        "low-balance threshold",
        null=True,
        blank=True,
        help_text="Warn when the balance falls below this amount (in the account's currency).",
    )
    monthly_budget = money_field(
        "monthly budget",
        null=True,
        blank=True,
        help_text="Alert when this month's spend on the account goes above this amount "
        "(in the account's currency).",
    )
    is_active = models.BooleanField("active", default=True)
    # Advanced only when a listing of the ledger completed: a listing cut off part way (some
    # ledgers list newest first) must not make the next sync skip what it never read.
    transactions_synced_until = models.DateTimeField(
        "transactions complete until",
        null=True,
        blank=True,
        editable=False,
        help_text="The newest transaction of the last complete read of the ledger; the next "
        "sync reads from a little before it.",
    )
    # Advanced window by window as call records are stored (numbers.services.calls): a
    # read cut off part way leaves it at the last whole window, and the next run goes on
    # from there.
    calls_synced_until = models.DateTimeField(
        "calls complete until",
        null=True,
        blank=True,
        editable=False,
        help_text="Every call record that started before this is stored; the next sync "
        "reads from a little before it.",
    )
    # Written by the sync only (portal.services.endpoints): an optional endpoint that answered 404,
    # 405 or 501 is a capability this account lacks, not a failure of every sync. The
    # database default serves writers that predate the column (older code mid-deploy,
    # historical models in migrations).
    endpoints_not_offered = models.JSONField(
        "endpoints not offered",
        default=dict,
        db_default={},
        blank=True,
        editable=False,
        help_text="Optional endpoints (balance, service plans, service plan rates) that "
        "answered 404, 405 or 501 for this account, each with when that was last checked "
        "(ISO time). The sync asks again once a day; an answer removes the entry.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "upstream_account_id"], name="account_unique_upstream_id"
            ),
            models.UniqueConstraint(fields=["provider", "name"], name="account_unique_name"),
            currency_is_iso_code("account"),
            models.CheckConstraint(
                condition=Q(low_balance_threshold__isnull=True) | Q(low_balance_threshold__gte=0),
                name="account_threshold_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(monthly_budget__isnull=True) | Q(monthly_budget__gte=0),
                name="account_budget_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.provider} · {self.name}"

    def clean(self):
        # Where the portal may connect (portal.providers.network): checked here when an
        # account is saved through a form, and again at every connection.
        problem = base_url_problem(self.base_url or "")
        if problem:
            raise ValidationError({"base_url": problem})

    @property
    def has_secret(self) -> bool:
        return bool(self.api_secret)

    @property
    def not_offered(self) -> dict[str, datetime]:
        """The endpoints this account does not offer, by name (portal.providers.optional
        .Endpoint), each with when that was last checked."""
        return {
            endpoint: datetime.fromisoformat(checked)
            for endpoint, checked in self.endpoints_not_offered.items()
        }


class SyncRun(models.Model):
    """One sync of one account: what it fetched and wrote, how long it took, why it failed."""

    class Kind(models.TextChoices):
        ALL = "all", "Everything"
        NUMBERS = "numbers", "Owned numbers"
        TRANSACTIONS = "transactions", "Transactions"
        CALLS = "calls", "Call records"
        BALANCE = "balance", "Balance"

    class Status(BadgeChoices):
        QUEUED = "queued", "text-bg-info", "Queued"
        RUNNING = "running", "text-bg-info", "Running"
        SUCCEEDED = "succeeded", "text-bg-success", "Succeeded"
        PARTIAL = "partial", "text-bg-warning", "Partly succeeded"
        FAILED = "failed", "text-bg-danger", "Failed"
        INTERRUPTED = "interrupted", "text-bg-danger", "Interrupted"

    IN_PROGRESS = (Status.QUEUED, Status.RUNNING)

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.ALL)
    status = models.CharField(max_length=20, choices=Status, default=Status.QUEUED)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for scheduled runs.",
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_fetched = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_released = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Who runs it and when it last showed signs of life: a run whose process died (killed,
    # crashed, machine lost) is closed as interrupted by the next start (portal.services.sync).
    worker = models.CharField(
        max_length=200,
        blank=True,
        help_text="The process running the sync (see portal.db.workers).",
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        permissions = [("run_sync", "Can start a sync")]
        indexes = [models.Index(fields=["account", "-started_at"], name="syncrun_account_recent")]
        constraints = [
            # The database, not a process-local lock, keeps two syncs of one account apart.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["queued", "running"]),
                name="syncrun_one_in_progress_per_account",
                violation_error_message="A sync of this account is already in progress.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running"], finished_at__isnull=True)
                | (
                    ~Q(status__in=["queued", "running"])
                    & Q(finished_at__isnull=False)
                    & Q(finished_at__gte=F("started_at"))
                ),
                name="syncrun_finished_when_done",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} sync of {self.account} ({self.get_status_display()})"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class AuditEvent(models.Model):
    """Who did what to which object, when, with the values before and after. Append-only."""

    class Action(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        LABEL = "label", "Label change"
        RELEASE = "release", "Release"
        CREDENTIAL_CHANGE = "credential_change", "Credential change"
        ACCOUNT_CHANGE = "account_change", "Account change"
        SYNC = "sync", "Sync"
        ALERT_SETTINGS = "alert_settings", "Alert settings change"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
        help_text="Empty for the system (scheduled syncs).",
    )
    action = models.CharField(max_length=30, choices=Action)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-created_at"], name="audit_object"),
            models.Index(fields=["action", "-created_at"], name="audit_action"),
        ]

    def __str__(self):
        who = self.actor or "system"
        return f"{self.get_action_display()} of {self.object_repr} by {who}"
