"""Django admin for tags, owned numbers and purchase orders.

Numbers and orders mirror the upstreams: only the portal's own label and tags are editable.
"""

from django.contrib import admin
from django.db.models import Count

from numbers.models import NumberOrder, PhoneNumber, Tag
from portal.admin import AccountListFilter, ReadOnlyAdminMixin, money_column
from portal.models import AuditEvent
from portal.services.audit import record_audit_event


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "number_count")
    search_fields = ("name",)
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(number_count=Count("numbers"))

    @admin.display(description="numbers", ordering="number_count")
    def number_count(self, tag):
        return tag.number_count


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
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

    def save_related(self, request, form, formsets, change):
        # Tags are saved here, after the row, so the label and tag change is audited here
        # as one event, as the numbers list's bulk change records it.
        before = {
            "label": form.initial.get("label", ""),
            "tags": sorted(tag.name for tag in form.initial.get("tags", [])),
        }
        super().save_related(request, form, formsets, change)
        number = form.instance
        after = {"label": number.label, "tags": sorted(tag.name for tag in number.tags.all())}
        changed = [name for name in before if before[name] != after[name]]
        if changed:
            record_audit_event(
                actor=request.user,
                action=AuditEvent.Action.LABEL,
                obj=number,
                before={name: before[name] for name in changed},
                after={name: after[name] for name in changed},
            )


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
