"""Links in alert messages: absolute addresses on the portal (settings.PORTAL_URL), to the
page where the alert's subject is seen and to the recipient's profile page."""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from alerts.kinds import Kind
from alerts.models import Alert

# The page each kind of alert is about.
PAGES = {
    Kind.LOW_BALANCE: "billing:balances",
    Kind.RUNWAY: "billing:balances",
    Kind.RENEWAL_AT_RISK: "billing:balances",
    Kind.SPEND_OVER_BUDGET: "billing:spend",
    Kind.SYNC_FAILING: "sync_runs",
    Kind.UNKNOWN_PURCHASES: "numbers:orders",
    Kind.IDLE_DIGEST: "numbers:idle",
}


def absolute(path: str) -> str:
    return f"{settings.PORTAL_URL}{path}"


def page_url(alert: Alert) -> str:
    """The page that shows what the alert is about, narrowed to its account where the page
    can be (the balances page scrolls to the account's row)."""
    kind = alert.rule.kind
    path = reverse(PAGES[kind])
    account = alert.account_id
    if kind == Kind.SPEND_OVER_BUDGET:
        path += "?" + urlencode({"by": "account"})
    elif kind == Kind.SYNC_FAILING and account:
        path += "?" + urlencode({"account": account})
    elif kind == Kind.UNKNOWN_PURCHASES:
        query = {"state": "unknown", **({"account": account} if account else {})}
        path += "?" + urlencode(query)
    elif kind == Kind.IDLE_DIGEST and alert.rule.days:
        path += "?" + urlencode({"idle_days": alert.rule.days})
    elif account and PAGES[kind] == "billing:balances":
        path += f"#balance-{account}"
    return absolute(path)


def profile_url() -> str:
    return absolute(reverse("alerts:profile"))
