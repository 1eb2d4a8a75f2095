import django_tables2 as tables
from django.template.defaultfilters import date
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from alerts.models import Alert, Delivery
from alerts.selectors.alerts import latest_deliveries
from portal.badges import status_badge
from portal.tables import AccountColumn, BoundedPagination

NOT_ON_PHONES = {
    "th": {"class": "d-none d-md-table-cell"},
    "td": {"class": "d-none d-md-table-cell"},
}
WHEN = {
    "th": {"class": "d-none d-md-table-cell"},
    "td": {"class": "text-nowrap d-none d-md-table-cell"},
}


def when(moment) -> str:
    return date(timezone.localtime(moment), "Y-m-d H:i")


class AlertTable(BoundedPagination, tables.Table):
    summary = tables.Column(verbose_name="Alert", orderable=False)
    state = tables.TemplateColumn(
        template_name="alerts/history.html#alert_state",
        verbose_name="State",
        accessor="cleared_at",
        orderable=False,
    )
    opened_at = tables.Column(verbose_name="Opened", attrs=WHEN)
    cleared_at = tables.Column(verbose_name="Cleared", attrs=WHEN, default="—")
    account = AccountColumn(
        order_by=("account__name", "-opened_at"), attrs=NOT_ON_PHONES, default="—"
    )
    deliveries = tables.Column(
        verbose_name="Notified", empty_values=(), orderable=False, attrs=NOT_ON_PHONES
    )

    class Meta:
        model = Alert
        fields = ("summary", "state", "opened_at", "cleared_at", "account", "deliveries")
        order_by = ("-opened_at",)
        empty_text = "No alert has fired."
        attrs = {"class": "table align-middle mb-0 alerts-table"}
        row_attrs = {"data-testid": "alert-row", "data-alert": lambda record: record.pk}

    @cached_property
    def _latest_deliveries(self):
        return latest_deliveries([row.record.pk for row in self.paginated_rows])

    def render_summary(self, record):
        # On a phone, where the times and the account have no column, they go here.
        cleared = format_html(" · cleared {}", when(record.cleared_at)) if record.cleared_at else ""
        return format_html(
            '<a href="{}">{}</a><div class="small text-body-secondary">{}</div>'
            '<div class="small text-body-secondary d-md-none">opened {}{}</div>',
            reverse("alerts:detail", args=[record.pk]),
            record.summary,
            record.rule.name,
            when(record.opened_at),
            cleared,
        )

    def render_opened_at(self, record):
        return when(record.opened_at)

    def render_cleared_at(self, record):
        return when(record.cleared_at)

    def render_deliveries(self, record):
        deliveries = self._latest_deliveries.get(record.pk, [])
        if not deliveries:
            return format_html('<span class="text-body-secondary">{}</span>', "No one")
        return format_html(
            '<ul class="list-unstyled small mb-0">{}</ul>',
            format_html_join("", "<li>{}</li>", ((delivery_line(d),) for d in deliveries)),
        )


def delivery_to(delivery: Delivery) -> str:
    """Where a delivery went: the address an e-mail went to, or the webhook's name."""
    if delivery.channel == Delivery.Channel.WEBHOOK:
        return delivery.webhook.name if delivery.webhook else "a deleted webhook"
    return delivery.address or "—"


CHANNEL_ICONS = {Delivery.Channel.EMAIL: "envelope", Delivery.Channel.WEBHOOK: "broadcast"}


def delivery_line(delivery: Delivery):
    return format_html(
        '<i class="bi bi-{} me-1" aria-hidden="true"></i><span class="visually-hidden">{}: </span>'
        "{} {}",
        CHANNEL_ICONS.get(delivery.channel, "send"),
        delivery.get_channel_display(),
        delivery_to(delivery),
        status_badge(Delivery.State, delivery.state),
    )
