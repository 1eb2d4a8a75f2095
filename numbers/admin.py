"""Django admin for tags, owned numbers, purchase orders and call records.

Numbers, orders and calls mirror the upstreams: only the portal's own label and tags are
editable.
"""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from numbers.models import (
    Call,
    LabelMonth,
    NumberDay,
    NumberMonth,
    NumberOrder,
    PhoneNumber,
    Tag,
)
from numbers.services.labels import clean_label, ensure_labellable, set_label
from portal.admin import (
    AccountListFilter,
    CountColumnsMixin,
    ReadOnlyAdminMixin,
    json_column,
    money_column,
)
from portal.providers.errors import UpstreamError


@admin.register(Tag)
class TagAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ("name", "number_count")
    search_fields = ("name",)
    ordering = ("name",)
    count_columns = {"number_count": "numbers"}


class PhoneNumberAdminForm(forms.ModelForm):
    """The label checked as every label edit checks it (numbers.services.labels)."""

    class Meta:
        model = PhoneNumber
        fields = ("label", "tags")

    def clean_label(self):
        label = clean_label(self.cleaned_data["label"])
        if label != self.instance.label:
            ensure_labellable(self.instance)
        return label


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    form = PhoneNumberAdminForm
    list_display = (
        "number",
        "label",
        "account",
        "status",
        "number_type",
        "country",
        "monthly_fee_display",
        "purchased_at",
    )
    list_filter = (
        "provider",
        "status",
        "number_type",
        "country",
        ("account", AccountListFilter),
    )
    list_select_related = ("account__provider",)
    search_fields = ("number", "label", "upstream_label", "upstream_id")
    autocomplete_fields = ("tags",)
    date_hierarchy = "purchased_at"
    ordering = ("number",)
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("number", "label", "tags")}),
        (
            "At the provider",
            {
                "fields": (
                    "provider",
                    "account",
                    "upstream_id",
                    "upstream_label",
                    "status",
                    "number_type",
                    "country",
                    "region",
                    "capability_list",
                )
            },
        ),
        (
            "Fees",
            {
                "fields": (
                    "setup_fee_display",
                    "setup_fee_source",
                    "monthly_fee_display",
                    "monthly_fee_source",
                    "period_fee_display",
                    "rental_period_days",
                )
            },
        ),
        (
            "Dates",
            {"fields": ("purchased_at", "released_at", "created_at", "updated_at")},
        ),
    )
    # Everything but the portal's own label and tags comes from the upstream; sync would
    # overwrite an edit, so the admin does not offer one.
    readonly_fields = tuple(
        name
        for _, options in fieldsets
        for name in options["fields"]
        if name not in ("label", "tags")
    )

    setup_fee_display = money_column("setup_fee", "setup fee")
    monthly_fee_display = money_column("monthly_fee", "monthly fee")
    period_fee_display = money_column("period_fee", "rental per period")

    @admin.display(description="capabilities")
    def capability_list(self, number):
        return ", ".join(number.capabilities)

    def has_add_permission(self, request):
        # Numbers are bought through the portal's purchase flow, never created by hand.
        return False

    def has_delete_permission(self, request, obj=None):
        # Nothing synced is deleted: a number gone upstream is marked released by sync.
        return False

    def save_model(self, request, obj, form, change):
        # Only the label and tags are editable, and save_related saves them through the
        # service every label edit takes, never straight to the row.
        pass

    def save_related(self, request, form, formsets, change):
        """The label (sent first to a provider that keeps labels) and the tags, through
        numbers.services.labels.set_label: one audit event for both. A provider refusing
        the label leaves the number as it was, said on the page (response_change)."""
        try:
            set_label(
                form.instance,
                form.cleaned_data["label"],
                tags=form.cleaned_data["tags"],
                actor=request.user,
            )
        except UpstreamError as error:
            request.label_refused = error

    def response_change(self, request, obj):
        refused = getattr(request, "label_refused", None)
        if refused is None:
            return super().response_change(request, obj)
        self.message_user(request, f"Nothing was changed: {refused}", messages.ERROR)
        return HttpResponseRedirect(request.path)


@admin.register(NumberOrder)
class NumberOrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "number",
        "account",
        "state",
        "setup_fee_display",
        "monthly_fee_display",
        "requested_by",
        "error_code",
    )
    list_filter = ("state", "account__provider", ("account", AccountListFilter))
    list_select_related = ("account__provider", "requested_by")
    search_fields = ("number", "label", "error_code")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    # Not editable on the model, so only shown when listed here; the key is what
    # reconciling an order with the upstream starts from.
    readonly_fields = ("idempotency_key", "created_at")

    setup_fee_display = money_column("setup_fee", "quoted setup fee")
    monthly_fee_display = money_column("monthly_fee", "quoted monthly fee")


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "started_at",
        "account",
        "number",
        "direction",
        "other_party",
        "duration_seconds",
        "billed_seconds",
        "cost_display",
        "upstream_id",
    )
    list_filter = ("direction", "currency", "account__provider", ("account", AccountListFilter))
    list_select_related = ("account__provider",)
    search_fields = ("upstream_id", "number", "other_party")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")
    show_full_result_count = False
    raw_id_fields = ("phone_number",)
    readonly_fields = ("created_at", "parts_display")
    exclude = ("parts",)

    cost_display = money_column("cost", "cost")
    parts_display = json_column("parts", "cost parts as published")


class FactsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The facts the syncs keep (numbers.services.facts), to look at; never edited."""

    list_filter = ("currency", "account__provider", ("account", AccountListFilter))
    list_select_related = ("account__provider",)
    search_fields = ("number",)
    show_full_result_count = False
    raw_id_fields = ("phone_number",)

    cost_display = money_column("cost", "call cost")


@admin.register(NumberDay)
class NumberDayAdmin(FactsAdmin):
    list_display = ("day", "account", "number", "calls", "billed_seconds", "cost_display")
    date_hierarchy = "day"
    ordering = ("-day", "number")


@admin.register(NumberMonth)
class NumberMonthAdmin(FactsAdmin):
    list_display = (
        "month",
        "account",
        "number",
        "calls",
        "cost_display",
        "charged_display",
        "estimated_display",
    )
    date_hierarchy = "month"
    ordering = ("-month", "number")

    charged_display = money_column("charged", "charged")
    estimated_display = money_column("estimated", "estimated")


@admin.register(LabelMonth)
class LabelMonthAdmin(NumberMonthAdmin):
    list_display = (
        "month",
        "account",
        "label",
        "calls",
        "cost_display",
        "charged_display",
        "estimated_display",
    )
    search_fields = ("label",)
    ordering = ("-month", "label")
    raw_id_fields = ()
