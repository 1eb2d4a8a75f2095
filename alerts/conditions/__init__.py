"""Each rule kind's condition: `condition(rule, *, now, account=None) -> list[Finding]`, the
subjects it holds true for now (for one account after its sync, else for all)."""

from alerts.conditions.balances import low_balance, runway
from alerts.conditions.base import Finding
from alerts.conditions.idle import idle_digest
from alerts.conditions.purchases import unknown_purchases
from alerts.conditions.renewals import renewal_at_risk
from alerts.conditions.spend import spend_over_budget
from alerts.conditions.syncs import sync_failing
from alerts.kinds import Kind

CONDITIONS = {
    Kind.LOW_BALANCE: low_balance,
    Kind.RUNWAY: runway,
    Kind.RENEWAL_AT_RISK: renewal_at_risk,
    Kind.SPEND_OVER_BUDGET: spend_over_budget,
    Kind.SYNC_FAILING: sync_failing,
    Kind.UNKNOWN_PURCHASES: unknown_purchases,
    Kind.IDLE_DIGEST: idle_digest,
}

# Conditions about the whole portal: evaluated on the schedule, not after an account's sync.
PORTAL_WIDE = frozenset({Kind.IDLE_DIGEST})

__all__ = ["CONDITIONS", "PORTAL_WIDE", "Finding"]
