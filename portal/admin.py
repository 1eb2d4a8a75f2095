"""Django admin for providers, accounts (with write-only credentials), syncs and the audit log.

The helpers at the top (read-only admins, money, JSON and count columns, the account filter)
are shared with `numbers.admin` and `billing.admin`.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Count
from django.template.defaultfilters import pluralize
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from portal.models import AuditEvent, Provider, ProviderAccount, SyncRun
from portal.money import format_money
from portal.providers.optional import Endpoint
from portal.services.accounts import (
    AUDITED_FIELDS,
    deactivate_accounts,
    delete_account,
    record_account_change,
    record_credential_change,
)

admin.site.site_header = "Number portal administration"
admin.site.site_title = "Number portal administration"


class ReadOnlyAdminMixin:
    """View-only admin for rows the portal only appends (audit, syncs, upstream billing data):
    editing them in the admin would falsify history, so nobody may, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HttpsURLField(forms.URLField):
    """Assumes https for a URL typed without a scheme, as Django 6 will by default."""

    def __init__(self, **kwargs):
        super().__init__(assume_scheme="https", **kwargs)


URL_FIELD_OVERRIDES = {models.URLField: {"form_class": HttpsURLField}}


def admin_money(amount, currency):
    """'25.00 USD', as every page writes money (portal.money.format_money); None where there
    is no amount, so the admin shows its own empty value."""
    return None if amount is None else format_money(amount, currency)


def money_column(amount_field, description):
    """An admin column (or read-only field) showing `amount_field` with the row's currency."""

    @admin.display(description=description, ordering=amount_field)
    def column(model_admin, obj):
        return admin_money(getattr(obj, amount_field), obj.currency)

    return column


def pretty_json(value):
    """JSON indented in a <pre>; format_html escapes it, since it holds upstream/user data."""
    if value is None:
        return None
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
    return format_html("<pre>{}</pre>", text)


def json_column(field, description):
    """An admin column (or read-only field) showing the JSON in `field` (pretty_json)."""

    @admin.display(description=description)
    def column(model_admin, obj):
        return pretty_json(getattr(obj, field))

    return column


class CountColumnsMixin:
    """List columns counting each row's related rows: `count_columns` maps a column's name
    to the relation it counts. The list's one query annotates the counts (no query a row),
    so the columns sort as well; each is headed by its relation's name."""

    count_columns: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, relation in cls.count_columns.items():
            setattr(cls, name, _count_column(name, relation))

    def get_queryset(self, request):
        counts = {name: Count(relation) for name, relation in self.count_columns.items()}
        return super().get_queryset(request).annotate(**counts)


def _count_column(name, relation):
    @admin.display(description=relation, ordering=name)
    def column(model_admin, obj):
        return getattr(obj, name)

    return column


class AccountListFilter(admin.RelatedFieldListFilter):
    """Filter by provider account. An account's name includes its provider, so the choices
    are loaded with it in one query instead of one query per account."""

    def field_choices(self, field, request, model_admin):
        accounts = ProviderAccount.objects.select_related("provider")
        return [(account.pk, str(account)) for account in accounts]


@admin.register(Provider)
class ProviderAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "account_count", "docs_url")
    search_fields = ("name", "slug")
    ordering = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    formfield_overrides = URL_FIELD_OVERRIDES
    count_columns = {"account_count": "accounts"}


class ProviderAccountForm(forms.ModelForm):
    """Account form whose secret is write-only: the stored secret never reaches the page
    (not even masked), it can only be replaced or cleared."""

    SECRET_FIELDS = ("new_api_secret", "clear_api_secret")

    new_api_secret = forms.CharField(
        label="New API secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current secret.",
    )
    clear_api_secret = forms.BooleanField(
        label="Clear the API secret",
        required=False,
        help_text="Remove the stored secret; the portal then cannot call this account.",
    )

    class Meta:
        model = ProviderAccount
        # An allow-list, so a field added to the model later cannot leak onto the page.
        fields = AUDITED_FIELDS
        field_classes = {"base_url": HttpsURLField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Remembered before save() replaces it, for the audit log's "before".
        self.had_secret = self.instance.has_secret

    def clean(self):
        cleaned_data = super().clean()
        new_secret = cleaned_data.get("new_api_secret")
        if new_secret and cleaned_data.get("clear_api_secret"):
            raise ValidationError("Enter a new secret or clear the secret, not both.")
        if self.instance._state.adding and not new_secret:
            self.add_error("new_api_secret", "A new account needs its API secret.")
        return cleaned_data

    @property
    def secret_change(self):
        """How the secret changes: "set", "changed", "cleared", or None when kept."""
        if self.cleaned_data.get("new_api_secret"):
            return "changed" if self.had_secret else "set"
        if self.cleaned_data.get("clear_api_secret") and self.had_secret:
            return "cleared"
        return None

    @property
    def changed_account_fields(self):
        return [name for name in self.changed_data if name not in self.SECRET_FIELDS]

    def save(self, commit=True):
        change = self.secret_change
        if change in ("set", "changed"):
            self.instance.api_secret = self.cleaned_data["new_api_secret"]
        elif change == "cleared":
            self.instance.api_secret = ""
        return super().save(commit)


def _endpoint_label(name: str) -> str:
    try:
        return Endpoint(name).label
    except ValueError:  # an endpoint recorded by an older version of the portal
        return name


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    """Accounts are deactivated, not deleted, in bulk: their numbers and transactions keep
    them (a delete of several always ended in "Cannot delete"). One without any history can
    still be deleted from its own page."""

    form = ProviderAccountForm
    actions = ["deactivate_selected"]
    formfield_overrides = URL_FIELD_OVERRIDES
    list_display = (
        "name",
        "provider",
        "upstream_account_id",
        "currency",
        "low_balance_threshold_display",
        "secret_set",
        "is_active",
        "updated_at",
    )
    list_filter = ("provider", "is_active", "currency")
    list_select_related = ("provider",)
    search_fields = ("name", "upstream_account_id", "provider__name")
    autocomplete_fields = ("provider",)
    date_hierarchy = "created_at"
    ordering = ("provider__name", "name")
    readonly_fields = (
        "secret_set",
        "not_offered",
        "transactions_synced_until",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ProviderAccountForm.Meta.fields}),
        ("Credentials", {"fields": ("secret_set", "new_api_secret", "clear_api_secret")}),
        (
            "History",
            {"fields": ("not_offered", "transactions_synced_until", "created_at", "updated_at")},
        ),
    )

    low_balance_threshold_display = money_column("low_balance_threshold", "low-balance threshold")

    @admin.display(description="Secret set")
    def secret_set(self, account):
        return "yes" if account.has_secret else "no"

    @admin.display(description="Endpoints not offered")
    def not_offered(self, account):
        """What the sync recorded as not offered by this account (portal.services.endpoints)."""
        checks = sorted(account.not_offered.items())
        if not checks:
            return "None: every optional endpoint answered."
        return format_html_join(
            "",
            "<div>{}: not offered by this account (checked {})</div>",
            (
                (_endpoint_label(name), f"{timezone.localtime(checked):%Y-%m-%d %H:%M}")
                for name, checked in checks
            ),
        )

    def save_model(self, request, obj, form, change):
        stored = (
            ProviderAccount.objects.select_related("provider").get(pk=obj.pk) if change else None
        )
        super().save_model(request, obj, form, change)
        if stored is not None:
            record_account_change(stored, obj, form.changed_account_fields, actor=request.user)
        record_credential_change(
            obj, had_secret=form.had_secret, change=form.secret_change, actor=request.user
        )

    def delete_model(self, request, obj):
        delete = super().delete_model  # the admin's own delete, after its checks
        delete_account(obj, actor=request.user, delete=lambda: delete(request, obj))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Deactivate selected accounts", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        accounts = deactivate_accounts(queryset, actor=request.user)
        if not accounts:
            self.message_user(request, "The selected accounts were already inactive.")
            return
        self.message_user(
            request,
            f"Deactivated {len(accounts)} account{pluralize(len(accounts))}: "
            f"{', '.join(account.name for account in accounts)}. "
            "Inactive accounts are neither synced nor searched.",
            messages.SUCCESS,
        )


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "started_at",
        "account",
        "kind",
        "status",
        "duration",
        "rows_fetched",
        "rows_created",
        "rows_updated",
        "rows_released",
        "triggered_by",
    )
    list_filter = ("status", "kind", "account__provider", ("account", AccountListFilter))
    list_select_related = ("account__provider", "triggered_by")
    search_fields = ("account__name", "error")
    date_hierarchy = "started_at"
    ordering = ("-started_at",)
    show_full_result_count = False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "object_repr", "actor")
    list_filter = ("action",)
    list_select_related = ("actor",)
    search_fields = ("object_repr", "object_id", "actor__username")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    fields = readonly_fields = (
        "created_at",
        "actor",
        "action",
        "content_type",
        "audited_object",
        "before_json",
        "after_json",
    )

    @admin.display(description="object")
    def audited_object(self, event):
        """A link to the object's admin page where it has one, else the name it had."""
        if event.content_type_id is None:
            return event.object_repr
        content_type = ContentType.objects.get_for_id(event.content_type_id)
        try:
            url = reverse(
                f"admin:{content_type.app_label}_{content_type.model}_change",
                args=[event.object_id],
            )
        except NoReverseMatch:
            return event.object_repr
        return format_html('<a href="{}">{}</a>', url, event.object_repr)

    before_json = json_column("before", "before")
    after_json = json_column("after", "after")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    """Django's user admin, with each user's role in the list: Administrator (superuser),
    else the groups (Support, Finance) that give the portal's permissions."""

    list_display = (*UserAdmin.list_display, "role")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="role")
    def role(self, user):
        if user.is_superuser:
            return "Administrator"
        groups = sorted(group.name for group in user.groups.all())
        return ", ".join(groups) or "No role"
