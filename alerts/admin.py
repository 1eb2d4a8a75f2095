"""Admin for alerts: the portal's own pages (alerts.views) are where people work with them;
the admin lists everything for inspection, and never shows a webhook's secret."""

from django.contrib import admin

from alerts.models import Alert, Delivery, DeliveryAttempt, Rule, Subscription, WebhookEndpoint
from portal.admin import URL_FIELD_OVERRIDES, ReadOnlyAdminMixin


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "days", "hours", "failed_runs", "minutes"]
    list_filter = ["kind", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "url", "format", "is_active"]
    exclude = ["secret"]  # set on the portal's channel page only, write-only
    formfield_overrides = URL_FIELD_OVERRIDES


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "rule", "subscribed"]
    list_filter = ["rule", "subscribed"]


class DeliveryAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryAttempt
    extra = 0


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["alert", "round", "channel", "address", "webhook", "state", "attempts"]
    list_filter = ["channel", "state"]
    inlines = [DeliveryAttemptInline]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["summary", "rule", "opened_at", "cleared_at", "acknowledged_at"]
    list_filter = ["rule", ("cleared_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "opened_at"
