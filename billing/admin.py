"""Django admin for billing data. All of it is read from the upstreams (or estimated from
number fees) by sync, so the admin only shows it."""

from django.contrib import admin

from billing.models import BalanceSnapshot, ServicePlan, Transaction
from portal.admin import AccountListFilter, ReadOnlyAdminMixin, json_column, money_column


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "account",
        "kind",
        "amount_display",
        "is_estimate",
        "number",
        "description",
        "upstream_id",
    )
    list_filter = (
        "kind",
        "currency",
        "is_estimate",
        "account__provider",
        ("account", AccountListFilter),
        "occurred_at",
    )
    list_select_related = ("account__provider",)
    search_fields = ("upstream_id", "description", "number", "reference")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at", "-id")
    show_full_result_count = False
    readonly_fields = ("created_at",)

    amount_display = money_column("amount", "amount")


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("taken_at", "account", "balance_display", "credit_limit_display")
    list_filter = ("account__provider", ("account", AccountListFilter), "currency")
    list_select_related = ("account__provider",)
    search_fields = ("account__name",)
    date_hierarchy = "taken_at"
    ordering = ("-taken_at",)

    balance_display = money_column("balance", "balance")
    credit_limit_display = money_column("credit_limit", "credit limit")


@admin.register(ServicePlan)
class ServicePlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "account", "upstream_id", "synced_at")
    list_filter = ("account__provider", ("account", AccountListFilter))
    list_select_related = ("account__provider",)
    search_fields = ("name", "upstream_id", "account__name")
    date_hierarchy = "synced_at"
    ordering = ("account__provider__name", "account__name", "name")
    fields = readonly_fields = (
        "account",
        "upstream_id",
        "name",
        "description",
        "rates_json",
        "synced_at",
    )
    rates_json = json_column("rates", "rates")
