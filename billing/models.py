from django.db import models
from django.db.models import Q
from django.utils import timezone

from numbers.models import PhoneNumber
from portal.choices import BadgeChoices
from portal.db.constraints import number_is_e164
from portal.models import ProviderAccount
from portal.money import currency_field, currency_is_iso_code, money_field


class Transaction(models.Model):
    """A billing event at a provider. Append-only: keyed by the upstream id (or a stable hash
    of its fields where the provider gives none), never updated or deleted by sync.

    `amount` is the positive magnitude the upstreams publish; the direction is in `kind`.
    Rows with `is_estimate` are charges the portal computed from number fees for providers
    without a billing API; every page and export marks them as estimates.
    """

    class Kind(BadgeChoices):
        # Money coming in in green, money going out (DEBIT_KINDS) in a neutral colour.
        DEBIT = "debit", "text-bg-light border", "Debit"
        CREDIT = "credit", "text-bg-success", "Credit"
        RECURRING = "recurring", "text-bg-light border", "Recurring"
        USAGE = "usage", "text-bg-light border", "Usage"

    # Money leaving the account; everything else (credit) comes in.
    DEBIT_KINDS = (Kind.DEBIT, Kind.RECURRING, Kind.USAGE)

    # No index of its own: (account, upstream_id) and (account, -occurred_at) lead with it,
    # and one index fewer to maintain speeds up the sync's bulk inserts.
    account = models.ForeignKey(
        ProviderAccount, on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    upstream_id = models.CharField("upstream id", max_length=128)
    kind = models.CharField("type", max_length=20, choices=Kind)
    amount = money_field("amount")
    currency = currency_field()
    description = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField("date")
    number = models.CharField(
        max_length=16, blank=True, help_text="The phone number the provider names, if any."
    )
    phone_number = models.ForeignKey(
        PhoneNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions"
    )
    reference = models.CharField(max_length=200, blank=True)
    is_estimate = models.BooleanField(
        "estimated",
        default=False,
        help_text="Computed from number fees because the provider has no billing API.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        permissions = [
            ("export_transactions", "Can export transactions"),
            ("view_spend_report", "Can view spend reports"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "upstream_id"], name="transaction_unique_upstream_id"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="transaction_amount_magnitude"),
            currency_is_iso_code("transaction"),
            number_is_e164("transaction", allow_blank=True),
        ]
        indexes = [
            models.Index(fields=["account", "-occurred_at"], name="transaction_account_recent"),
            # Not by kind or currency: each of those is a large share of the rows, so
            # the date index serves a filter on them as well, at no cost to the sync.
            models.Index(fields=["-occurred_at"], name="transaction_recent"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} {self.currency}"

    @property
    def is_debit(self):
        return self.kind in self.DEBIT_KINDS

    @property
    def signed_amount(self):
        return -self.amount if self.is_debit else self.amount


class BalanceSnapshot(models.Model):
    """An account's balance as read at one moment; one per sync, for trends and warnings."""

    account = models.ForeignKey(
        ProviderAccount, on_delete=models.CASCADE, related_name="balance_snapshots"
    )
    # May be negative on postpaid accounts.
    balance = money_field("balance")
    currency = currency_field()
    credit_limit = money_field("credit limit", null=True, blank=True)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-taken_at"]
        get_latest_by = "taken_at"
        indexes = [models.Index(fields=["account", "-taken_at"], name="balance_account_recent")]
        constraints = [currency_is_iso_code("balance")]

    def __str__(self):
        return f"{self.account}: {self.balance} {self.currency}"


class ServicePlan(models.Model):
    """A service plan on an account (Audian), with its rates as published upstream."""

    account = models.ForeignKey(
        ProviderAccount, on_delete=models.CASCADE, related_name="service_plans"
    )
    upstream_id = models.CharField("upstream id", max_length=128)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Rates keep the upstream's structure; amounts in it are decimal strings, never floats.
    rates = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "upstream_id"], name="service_plan_unique_upstream_id"
            )
        ]

    def __str__(self):
        return self.name
