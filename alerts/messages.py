"""The text of alert e-mails: what happened, the figures behind it, a link to the page
concerned, and at the end a link to the recipient's profile page to change or stop what
they receive. Built from the alert's facts only, which never hold a secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from alerts.links import page_url, profile_url
from alerts.models import Delivery
from portal.money import format_money

PRODUCT = "Number portal"

# The facts a message lists, in this order, with how each reads: an amount in the facts'
# currency, a time, a date, or text as it is.
FACT_LINES = (
    ("account", "Account", "text"),
    ("balance", "Balance", "money"),
    ("threshold", "Threshold", "money"),
    ("due", "Renewals due", "money"),
    ("renewals", "Renewals in the window", "text"),
    ("unknown_fees", "Of unknown fee", "text"),
    ("numbers_without_purchase_date", "Numbers without a purchase date", "text"),
    ("first_unpaid_renewal", "First renewal the balance cannot pay", "time"),
    ("first_unpaid_number", "Its number", "text"),
    ("released_after", "Released for good after", "time"),
    ("spend", "Spend this month", "money"),
    ("estimated", "Of which estimated", "money"),
    ("budget", "Monthly budget", "money"),
    ("month", "Month", "text"),
    ("days_left", "Days left", "text"),
    ("runs_out_on", "Runs out on", "date"),
    ("burn_per_day", "Spend per day (last 30 days)", "money"),
    ("last_success", "Last successful sync", "time"),
    ("failed_in_a_row", "Failed runs in a row", "text"),
    ("last_error", "Last error", "text"),
    ("number", "Number", "text"),
    ("sent_at", "Sent to the provider", "time"),
    ("week", "Week", "text"),
    ("numbers", "Idle numbers", "text"),
    ("monthly_cost", "What they cost a month", "text"),
    ("balance_taken_at", "Balance read", "time"),
)
# A fact left empty is not shown, but for the one where empty says something.
EMPTY_MEANS = {"last_success": "never"}


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def alert_message(delivery: Delivery) -> Message:
    alert = delivery.alert
    reminder = delivery.round > 0
    subject = f"[{PRODUCT}] {'Reminder: ' if reminder else ''}{alert.summary}"
    lines = [f"Hello {_name(delivery)},", ""]
    lines += [f"{alert.rule.get_kind_display()} (rule “{alert.rule.name}”):", alert.summary, ""]
    lines += _fact_lines(alert.facts)
    lines += ["", f"Opened: {_time(alert.opened_at)}"]
    if reminder:
        lines.append(
            f"Reminder {delivery.round}: the alert is still open and nobody has acknowledged it."
        )
    if alert.cleared_at is not None:
        lines.append(f"It has cleared since: {_time(alert.cleared_at)}")
    lines += ["", f"See it on the portal: {page_url(alert)}"]
    lines += _footer(f"you are subscribed to the rule “{alert.rule.name}”")
    # One line: an account's name is typed by people, and a header holds no line break.
    return Message(" ".join(subject.split())[:250], "\n".join(lines) + "\n")


def test_email_message(user) -> Message:
    """What the profile page's "Send me a test e-mail" sends."""
    lines = [
        f"Hello {user.get_full_name() or user.get_username()},",
        "",
        f"This is a test e-mail from the {PRODUCT}: alerts sent to this address reach you.",
        f"Sent {_time(timezone.now())}.",
    ]
    lines += _footer("you asked for a test e-mail on your profile page")
    return Message(f"[{PRODUCT}] Test e-mail", "\n".join(lines) + "\n")


def _footer(why: str) -> list[str]:
    return [
        "",
        "-- ",
        f"You receive this because {why}.",
        f"Change or stop what you receive: {profile_url()}",
    ]


def _name(delivery: Delivery) -> str:
    user = delivery.recipient
    if user is None:
        return delivery.address
    return user.get_full_name() or user.get_username()


def _fact_lines(facts: dict) -> list[str]:
    shown = [(label, _fact(facts, key, how)) for key, label, how in FACT_LINES]
    shown = [(label, value) for label, value in shown if value is not None]
    width = max((len(label) for label, _ in shown), default=0) + 1
    return [f"{label + ':':<{width}} {value}" for label, value in shown]


def _fact(facts: dict, key: str, how: str) -> str | None:
    if key not in facts:
        return None
    value = facts[key]
    if value in ("", None):
        return EMPTY_MEANS.get(key)
    if how == "money":
        try:
            return format_money(Decimal(value), facts.get("currency", ""))
        except InvalidOperation:
            return value
    if how == "time":
        return _time(datetime.fromisoformat(value))
    if how == "date":
        return f"{date.fromisoformat(value):%d %b %Y}"
    return value


def _time(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"
