"""What each kind of rule watches: the permission that lets a user see what it is about, the
roles subscribed by default, and the parameters its form asks for.

Plain data, so models, forms, evaluation and delivery agree on one table."""

from dataclasses import dataclass

from django.db import models

from portal.roles import FINANCE, SUPPORT


class Kind(models.TextChoices):
    LOW_BALANCE = "low_balance", "Balance below threshold"
    RUNWAY = "runway", "Runway running out"
    RENEWAL_AT_RISK = "renewal_at_risk", "Renewals at risk"
    SPEND_OVER_BUDGET = "spend_over_budget", "Spend above budget"
    SYNC_FAILING = "sync_failing", "Sync failing"
    UNKNOWN_PURCHASES = "unknown_purchases", "Purchases left unknown"
    IDLE_DIGEST = "idle_digest", "Weekly digest of idle numbers"


@dataclass(frozen=True)
class KindInfo:
    permission: str  # a recipient must hold it: alerts go only to who may see their subject
    default_roles: tuple[str, ...]  # groups subscribed unless a user chose otherwise
    parameters: tuple[str, ...]  # Rule fields its form shows (the others stay empty)
    help: str


KINDS: dict[str, KindInfo] = {
    Kind.LOW_BALANCE: KindInfo(
        "billing.view_balancesnapshot",
        (FINANCE,),
        (),
        "An account's balance is below the threshold set on the account.",
    ),
    Kind.RUNWAY: KindInfo(
        "billing.view_balancesnapshot",
        (FINANCE,),
        ("days",),
        "At the pace the balance has been falling, it runs out within this many days.",
    ),
    Kind.RENEWAL_AT_RISK: KindInfo(
        "billing.view_balancesnapshot",
        (FINANCE,),
        ("days",),
        "The balance will not cover the renewals due within this many days (providers that "
        "renew numbers per period, e.g. Ravan every 28 days, releasing them 48 hours after a "
        "renewal that could not be paid).",
    ),
    Kind.SPEND_OVER_BUDGET: KindInfo(
        "billing.view_spend_report",
        (FINANCE,),
        (),
        "An account's spend this month is above the monthly budget set on the account.",
    ),
    Kind.SYNC_FAILING: KindInfo(
        "portal.view_syncrun",
        (SUPPORT,),
        ("hours", "failed_runs"),
        "An account has had no successful sync for this many hours, or this many failed "
        "runs in a row.",
    ),
    Kind.UNKNOWN_PURCHASES: KindInfo(
        "numbers.view_numberorder",
        (SUPPORT,),
        ("minutes",),
        "A purchase has been left unknown (the provider did not say whether it went "
        "through) for more than this many minutes.",
    ),
    Kind.IDLE_DIGEST: KindInfo(
        "numbers.view_phonenumber",
        (),
        ("days",),
        "Once a week: the numbers with no calls in this many days and what they cost.",
    ),
}
