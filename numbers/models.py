from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.functional import cached_property

from portal.choices import BadgeChoices
from portal.db.constraints import number_is_e164
from portal.models import Provider, ProviderAccount
from portal.money import currency_field, currency_is_iso_code, money_field
from portal.providers.base import OwnedNumber
from portal.providers.phone import format_international


class FeeSource(models.TextChoices):
    """Where a number's fee came from, best first (see numbers.fees). Blank: unknown."""

    LISTING = "listing", "provider's listing"
    PURCHASE = "purchase", "price quoted at purchase"
    PLAN = "plan", "service plan rate"


class Tag(models.Model):
    """A portal-side tag for grouping numbers (a customer, a cost centre). Never sent upstream."""

    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class PhoneNumber(models.Model):
    """A number the reseller holds (or held) at a provider, as last seen upstream.

    Sync never deletes a row: a number gone upstream becomes `released` with a date, so its
    transactions and history stay attached.
    """

    class Status(BadgeChoices):
        ACTIVE = "active", "text-bg-success", "Active"
        PENDING = "pending", "text-bg-info", "Pending"
        SUSPENDED = "suspended", "text-bg-warning", "Suspended"
        RELEASED = "released", "text-bg-secondary", "Released"

    class Type(models.TextChoices):
        LOCAL = "local", "Local"
        MOBILE = "mobile", "Mobile"
        TOLL_FREE = "toll_free", "Toll-free"
        NATIONAL = "national", "National"
        UNKNOWN = "unknown", "Unknown"

    # No index of their own: (provider, number), (provider, status) and (account, status)
    # lead with them, and every index costs each row the sync writes.
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="numbers", db_index=False
    )
    account = models.ForeignKey(
        ProviderAccount, on_delete=models.PROTECT, related_name="numbers", db_index=False
    )
    number = models.CharField(max_length=16, help_text="E.164, e.g. +14155550100.")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2.")
    region = models.CharField(max_length=100, blank=True)
    number_type = models.CharField("type", max_length=20, choices=Type, default=Type.UNKNOWN)
    upstream_id = models.CharField(
        "upstream id", max_length=100, blank=True, help_text="Empty where the provider has none."
    )
    upstream_label = models.CharField("label at provider", max_length=255, blank=True)
    label = models.CharField(
        max_length=255, blank=True, help_text="The portal's own label; sync never overwrites it."
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="numbers")
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    voice = models.BooleanField(default=False)
    sms = models.BooleanField("SMS", default=False)
    mms = models.BooleanField("MMS", default=False)
    fax = models.BooleanField(default=False)
    # Unknown is not zero: a fee no source states is NULL (shown "—", left out of sums).
    setup_fee = money_field("setup fee", null=True, blank=True)
    setup_fee_source = models.CharField(
        "setup fee from", max_length=10, choices=FeeSource, blank=True
    )
    # The rental as the provider states it, per its own period (Ravan: 28 days)...
    period_fee = money_field(
        "rental per period",
        null=True,
        blank=True,
        help_text="The recurring fee as the provider states it, per rental period.",
    )
    rental_period_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days per rental period; empty: a calendar month."
    )
    # ...and as a monthly equivalent, the figure every monthly total adds up.
    monthly_fee = money_field(
        "monthly fee",
        null=True,
        blank=True,
        help_text="The rental per month; for other periods, times 365.25 / 12 / days.",
    )
    monthly_fee_source = models.CharField(
        "monthly fee from", max_length=10, choices=FeeSource, blank=True
    )
    currency = currency_field()
    purchased_at = models.DateTimeField(null=True, blank=True)
    # Kept by the call-record sync (numbers.services.calls) so that "no calls in N days"
    # is one indexed comparison over a million numbers, not an aggregate over their calls.
    last_call_at = models.DateTimeField(
        "last call", null=True, blank=True, editable=False, db_index=True
    )
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    CAPABILITIES = ("voice", "sms", "mms", "fax")

    class Meta:
        ordering = ["number"]
        permissions = [
            ("purchase_number", "Can buy numbers"),
            ("label_number", "Can label numbers"),
            ("release_number", "Can release numbers"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "number"], name="number_unique_per_provider"
            ),
            models.UniqueConstraint(
                fields=["account", "upstream_id"],
                condition=~Q(upstream_id=""),
                name="number_unique_upstream_id",
            ),
            number_is_e164("number"),
            currency_is_iso_code("number"),
            models.CheckConstraint(
                condition=(Q(setup_fee__isnull=True) | Q(setup_fee__gte=0))
                & (Q(monthly_fee__isnull=True) | Q(monthly_fee__gte=0))
                & (Q(period_fee__isnull=True) | Q(period_fee__gte=0)),
                name="number_fees_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(rental_period_days__isnull=True) | Q(rental_period_days__gt=0),
                name="number_rental_period_positive",
            ),
            models.CheckConstraint(
                condition=Q(status="released", released_at__isnull=False) | ~Q(status="released"),
                name="number_released_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="number_account_status"),
            models.Index(fields=["provider", "status"], name="number_provider_status"),
            models.Index(fields=["status", "country"], name="number_status_country"),
            # Sorted by label, tie-break included (as numbers.tables.sorted_by orders).
            models.Index(fields=["label", "number", "id"], name="number_label_order"),
            # The newest change: part of the key of cached reports (billing.report_cache).
            models.Index(fields=["updated_at"], name="number_updated_at"),
            models.Index(fields=["number_type"], name="number_type"),
            models.Index(fields=["purchased_at"], name="number_purchased_at"),
            # The numbers list's default order, tie-break included: a page reads its rows
            # from this index instead of sorting the whole table.
            models.Index(fields=["number", "id"], name="number_list_order"),
        ]

    def __str__(self):
        return self.number

    def save(self, *args, **kwargs):
        # The provider is the account's; it is stored here only so the database can
        # enforce "one row per number per provider".
        self.provider_id = self.account.provider_id
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("numbers:detail", args=[self.pk])

    def upstream_record(self) -> OwnedNumber:
        """What an adapter needs to address the number upstream: its E.164 and, where the
        provider has one, its upstream id (without it the adapter looks the number up)."""
        return OwnedNumber(
            number=self.number,
            status=self.status,
            currency=self.currency,
            upstream_id=self.upstream_id,
            label=self.upstream_label,
        )

    @cached_property  # a list row shows it twice (link and checkbox label)
    def display_number(self):
        return format_international(self.number)

    @property
    def display_label(self):
        return self.label or self.upstream_label

    @property
    def fee_is_converted(self) -> bool:
        """Whether the monthly fee is an equivalent of a price stated per other period."""
        return self.rental_period_days is not None and self.period_fee is not None

    @property
    def capabilities(self):
        return [name for name in self.CAPABILITIES if getattr(self, name)]


class NumberOrder(models.Model):
    """One purchase attempt. The idempotency key, made when the buy dialog opened, is unique,
    so double submits and retries can only ever reach one order and one upstream purchase."""

    class State(BadgeChoices):
        PENDING = "pending", "text-bg-info", "Pending"
        SUBMITTED = "submitted", "text-bg-info", "Submitted"
        COMPLETED = "completed", "text-bg-success", "Completed"
        FAILED = "failed", "text-bg-danger", "Failed"
        UNKNOWN = "unknown", "text-bg-warning", "Unknown (being checked)"

    OPEN_STATES = (State.PENDING, State.SUBMITTED)

    idempotency_key = models.UUIDField(unique=True, editable=False)
    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, related_name="orders")
    number = models.CharField(max_length=16)
    label = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=20, choices=State, default=State.PENDING)
    setup_fee = money_field("quoted setup fee", null=True, blank=True)
    monthly_fee = money_field("quoted monthly fee", null=True, blank=True)
    currency = currency_field()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="number_orders"
    )
    phone_number = models.ForeignKey(
        PhoneNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two people buying the same number on one account at once: one order wins.
            models.UniqueConstraint(
                fields=["account", "number"],
                condition=Q(state__in=["pending", "submitted"]),
                name="order_one_open_per_number",
                violation_error_message="An order for this number is already in progress.",
            ),
            models.CheckConstraint(
                condition=~Q(state="completed") | Q(phone_number__isnull=False),
                name="order_completed_has_number",
            ),
            number_is_e164("order"),
            currency_is_iso_code("order"),
        ]
        indexes = [
            models.Index(fields=["state", "-created_at"], name="order_state_recent"),
            models.Index(fields=["account", "-created_at"], name="order_account_recent"),
        ]

    def __str__(self):
        return f"Order {self.number} ({self.get_state_display()})"


# Call costs keep the digits providers publish (TryVox prices to 1/10,000 of a cent's
# hundredth, "0.0130"; Ravan credits to four places), more than a ledger amount needs.
CALL_COST_DIGITS = 18
CALL_COST_PLACES = 6


def call_cost_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=CALL_COST_DIGITS, decimal_places=CALL_COST_PLACES, **kwargs
    )


class Call(models.Model):
    """A call record as the provider published it (numbers.services.calls): append-only,
    keyed by the provider's call id, kept for settings.CALL_RETENTION_DAYS. Pages never
    read these: they read the rollups (NumberDay, NumberMonth), kept forever."""

    account = models.ForeignKey(
        ProviderAccount, on_delete=models.PROTECT, related_name="calls", db_index=False
    )
    # The account's own number the call was on; none for account-level usage (a Ravan web
    # call has no phone number): kept, and shown as the account's, never put on a number.
    phone_number = models.ForeignKey(
        PhoneNumber,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        db_index=False,
    )
    number = models.CharField(max_length=16, blank=True)
    other_party = models.CharField(max_length=64, blank=True)
    upstream_id = models.CharField("call id at provider", max_length=128)
    direction = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=30, blank=True)
    started_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(default=0)
    billed_seconds = models.PositiveIntegerField(null=True, blank=True)
    # What the account is billed for the call; null until the provider has priced it.
    cost = call_cost_field("cost", null=True, blank=True)
    currency = currency_field()
    # The published parts of the cost, as decimal strings: they need not add up to it.
    parts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "upstream_id"], name="call_unique_id"),
            number_is_e164("call", allow_blank=True),
            currency_is_iso_code("call"),
        ]
        indexes = [
            models.Index(fields=["account", "started_at"], name="call_account_started"),
            models.Index(fields=["phone_number", "started_at"], name="call_number_started"),
            # The calls still to price, oldest first (a partial index: few rows).
            models.Index(
                fields=["account", "started_at"],
                condition=Q(cost__isnull=True),
                name="call_unpriced",
            ),
        ]

    def __str__(self):
        return f"Call {self.upstream_id}"


class FactColumns(models.Model):
    """What happened in one period, in one currency: the columns every fact table sums.
    Moved by the syncs by exactly what they store (numbers.services.facts); every usage
    page and the spend report read these instead of adding up calls or transactions."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT, db_index=False)
    currency = currency_field()
    # Signed, though never negative once written: PostgreSQL checks a row it is about to
    # insert before it finds the one to add to, and an increment may be negative (a call
    # priced moves from `unpriced_calls` to `cost`).
    calls = models.IntegerField(default=0)
    billed_seconds = models.BigIntegerField(default=0)
    # The priced calls' cost; `unpriced_calls` more are not in it yet.
    cost = call_cost_field("call cost", default=0)
    unpriced_calls = models.IntegerField(default=0)

    class Meta:
        abstract = True


class ChargeColumns(models.Model):
    """The ledger's charges (debit, recurring, usage) dated in a month, and the rentals the
    portal estimated for a provider without a ledger (billing.services.estimates)."""

    charged = call_cost_field("charged", default=0)
    estimated = call_cost_field("estimated", default=0)

    class Meta:
        abstract = True


class UsageFacts(FactColumns):
    """What one number (or, with no number, the account itself) did in one period of the
    configured time zone."""

    phone_number = models.ForeignKey(
        PhoneNumber, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    number = models.CharField(max_length=16, blank=True)  # "" for account-level usage

    class Meta:
        abstract = True


class NumberDay(UsageFacts):
    """Usage per number and day (UTC)."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "number", "day", "currency"], name="number_day_unique"
            )
        ]
        indexes = [
            models.Index(fields=["phone_number", "day"], name="number_day_number"),
            models.Index(fields=["day"], name="number_day_day"),
        ]

    def __str__(self):
        return f"{self.number or 'account'} on {self.day}"


class NumberMonth(ChargeColumns, UsageFacts):
    """Usage and charges per number and calendar month (`month` is its first day): the
    fact table of this grain, which later capabilities extend with columns of their own."""

    month = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "number", "month", "currency"], name="number_month_unique"
            )
        ]
        indexes = [
            models.Index(fields=["phone_number", "month"], name="number_month_number"),
            models.Index(fields=["month"], name="number_month_month"),
        ]

    def __str__(self):
        return f"{self.number or 'account'} in {self.month:%Y-%m}"


class LabelMonth(ChargeColumns, FactColumns):
    """The monthly facts of an account's numbers added up per label the numbers show (their
    own, else the provider's; "" for none), so the spend report by label reads a few rows
    per month rather than every number's. Moved with the number facts as they are written,
    and from label to label when a number's shown label changes (numbers.services.
    label_facts)."""

    label = models.CharField(max_length=255, blank=True)
    month = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "label", "month", "currency"], name="label_month_unique"
            )
        ]
        indexes = [models.Index(fields=["month"], name="label_month_month")]

    def __str__(self):
        return f"{self.label or 'no label'} in {self.month:%Y-%m}"
