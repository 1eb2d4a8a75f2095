"""Service plans as finance reads them: each account's plans and their rates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from billing.models import ServicePlan
from portal.models import ProviderAccount
from portal.providers.capabilities import Capability


@dataclass(frozen=True)
class AccountPlans:
    account: ProviderAccount
    offers_plans: bool  # whether the provider has service plans at all
    plans: list[ServicePlan]


def service_plans_by_account() -> list[AccountPlans]:
    """Every active account with its plans (two queries), each plan with its `rate_rows`,
    and whether the provider offers plans, so a page can say "not offered" rather than
    "none yet"."""
    accounts = list(
        ProviderAccount.objects.filter(is_active=True)
        .select_related("provider")
        .defer("api_secret")
        .order_by("provider__name", "name")
    )
    plans = defaultdict(list)
    for plan in ServicePlan.objects.filter(account__in=accounts).order_by("name", "pk"):
        plan.rate_rows = plan_rates(plan)
        plans[plan.account_id].append(plan)
    return [
        AccountPlans(
            account,
            account.provider.supports(Capability.SERVICE_PLANS),
            plans[account.pk],
        )
        for account in accounts
    ]


def plan_rates(plan: ServicePlan) -> list[dict]:
    """A plan's number rates as rows: what is priced, monthly rate, activation charge
    (Decimals, None where the plan gives none)."""
    rows = []
    for classifier, rate in sorted(plan.rates.items()):
        if not isinstance(rate, Mapping):
            continue
        rows.append(
            {
                "classifier": classifier,
                "name": rate.get("name") or classifier,
                "rate": _decimal(rate.get("rate")),
                "activation": _decimal(rate.get("activation_charge")),
            }
        )
    return rows


def _decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None
