"""The main navigation: each entry shows only to users who hold its permission, matching the
permission its view checks on the server."""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str
    permission: str | None = None  # None: every logged-in user
    section: str = ""  # URL prefix that marks the item active
    not_under: tuple[str, ...] = ()  # prefixes inside `section` that are other pages'
    group: str = ""  # the items of a group show as one dropdown, where its first item is

    def visible_to(self, user) -> bool:
        return self.permission is None or user.has_perm(self.permission)


NAVIGATION = (
    NavItem("Dashboard", "dashboard", "speedometer2"),
    NavItem("Numbers", "numbers:list", "telephone", "numbers.view_phonenumber", "/numbers/"),
    NavItem(
        "Buy numbers", "numbers:search", "cart-plus", "numbers.purchase_number", "/numbers/buy/"
    ),
    NavItem(
        "Orders", "numbers:orders", "card-checklist", "numbers.view_numberorder", "/numbers/orders/"
    ),
    NavItem(
        "Idle numbers",
        "numbers:idle",
        "hourglass-split",
        "numbers.view_phonenumber",
        "/numbers/idle/",
    ),
    NavItem(
        "Transactions",
        "billing:transactions",
        "receipt",
        "billing.view_transaction",
        "/billing/",
        group="Billing",
    ),
    NavItem(
        "Balances",
        "billing:balances",
        "wallet2",
        "billing.view_balancesnapshot",
        "/billing/balances/",
        group="Billing",
    ),
    NavItem(
        "Spend",
        "billing:spend",
        "bar-chart-line",
        "billing.view_spend_report",
        "/billing/spend/",
        group="Billing",
    ),
    NavItem(
        "Service plans",
        "billing:plans",
        "card-list",
        "billing.view_serviceplan",
        "/billing/plans/",
        group="Billing",
    ),
    NavItem("Sync", "sync_runs", "arrow-repeat", "portal.view_syncrun", "/sync/"),
    # Alerts (the alerts app's pages, by URL name: the core imports no app).
    NavItem(
        "Alert history",
        "alerts:history",
        "clock-history",
        "alerts.view_alert",
        "/alerts/",
        # Everyone's profile page lives there too, reached from the user menu.
        not_under=("/alerts/profile/",),
        group="Alerts",
    ),
    NavItem(
        "Alert rules",
        "alerts:rules",
        "sliders",
        "alerts.change_rule",
        "/alerts/rules/",
        group="Alerts",
    ),
    NavItem(
        "Webhooks",
        "alerts:channels",
        "broadcast",
        "alerts.view_webhookendpoint",
        "/alerts/channels/",
        group="Alerts",
    ),
)

# A group's dropdown toggle shows this icon beside the group's name.
GROUP_ICONS = {"Billing": "cash-coin", "Alerts": "bell"}


def items_for(request):
    """The entries the user may see, in order: an entry is a link, or a group with its
    links as `children` (a dropdown), active when one of them is."""
    path = request.path
    visible = [item for item in NAVIGATION if item.visible_to(request.user)]
    # The most specific section wins: /numbers/buy/ is "Buy numbers", not "Numbers" too.
    current = max(
        (
            item
            for item in visible
            if item.section
            and path.startswith(item.section)
            and not path.startswith(item.not_under)
        ),
        key=lambda item: len(item.section),
        default=None,
    )
    entries, groups = [], {}
    for item in visible:
        entry = {
            "label": item.label,
            "url": reverse(item.url_name),
            "icon": item.icon,
            "active": item is current if item.section else path == "/",
        }
        if not item.group:
            entries.append(entry)
            continue
        if item.group not in groups:
            groups[item.group] = {
                "label": item.group,
                "icon": GROUP_ICONS[item.group],
                "active": False,
                "children": [],
            }
            entries.append(groups[item.group])
        groups[item.group]["children"].append(entry)
        groups[item.group]["active"] |= entry["active"]
    return entries
