"""Fees from service plan rates: the third source of a number's fees (numbers.fees).

Audian's listing states no fee, but the account's service plan prices each kind of number
(§2.9: a monthly `rate` and a one-time `activation_charge` per classifier). A number whose
fee no better source stated (listing, purchase quote) takes its plan's rate, and follows the
plan when the rate changes or goes away. Works per (type, country) group with one UPDATE
each, never per row: an account may hold a million numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from billing.models import ServicePlan
from billing.selectors.plans import plan_rates
from numbers.fees import monthly_equivalent, quantized
from numbers.models import FeeSource, PhoneNumber
from portal.models import ProviderAccount
from portal.providers.base import ProviderAdapter
from portal.services.sync import SyncCounts

# The plan's rate fields each fee takes, with the number's fee columns they fill.
_RATE_FIELDS = {
    "rate": ("monthly_fee", "monthly_fee_source"),
    "activation": ("setup_fee", "setup_fee_source"),
}


def fees_from_service_plans(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """A sync step (settings.SYNC_STEPS), from the plans stored: give the account's numbers
    without a stated fee their plan's rate. Writes only rows whose fee differs."""
    counts = SyncCounts(from_upstream=False)
    plans = list(ServicePlan.objects.filter(account=account).order_by("name", "pk"))
    from_plans = Q(monthly_fee_source=FeeSource.PLAN) | Q(setup_fee_source=FeeSource.PLAN)
    if not plans and not PhoneNumber.objects.filter(from_plans, account=account).exists():
        return counts  # no plan prices anything, nor did one before
    groups = (
        PhoneNumber.objects.filter(account=account)
        .values_list("number_type", "country")
        .distinct()
        .order_by()
    )
    with transaction.atomic():
        for number_type, country in list(groups):
            rates = _rates_for(plans, adapter.plan_rate_keys(number_type, country))
            same_kind = PhoneNumber.objects.filter(
                account=account, number_type=number_type, country=country
            )
            for name, amount in rates.items():
                counts.updated += _apply(same_kind, name, amount, adapter, now)
    progress(counts)
    return counts


def _rates_for(plans: list[ServicePlan], keys: tuple[str, ...]) -> dict[str, Decimal | None]:
    """The first plan rate (and activation charge) found under `keys`, in plan order."""
    found: dict[str, Decimal | None] = dict.fromkeys(_RATE_FIELDS)
    rows = [row for plan in plans for row in plan_rates(plan)]
    for key in keys:
        for row in rows:
            if row["classifier"] != key:
                continue
            for name in found:
                if found[name] is None:
                    found[name] = row[name]
    return found


def _apply(numbers, name: str, amount: Decimal | None, adapter, now: datetime) -> int:
    fee_column, source_column = _RATE_FIELDS[name]
    from_plan = Q(**{source_column: FeeSource.PLAN})
    unstated = Q(**{source_column: ""})
    if amount is None:
        # The plan no longer prices it: what came from the plan is unknown again.
        values = {fee_column: None, source_column: ""}
        if fee_column == "monthly_fee":
            values.update(period_fee=None, rental_period_days=None)
        return numbers.filter(from_plan).update(**values, updated_at=now)
    amount = quantized(amount)
    values = {fee_column: amount, source_column: FeeSource.PLAN}
    if fee_column == "monthly_fee":
        period_days = adapter.rental_period_days
        values.update(
            period_fee=amount,
            rental_period_days=period_days,
            monthly_fee=monthly_equivalent(amount, period_days),
        )
    already = from_plan & Q(**{f"{fee_column}": values[fee_column]})
    return numbers.filter(from_plan | unstated).exclude(already).update(**values, updated_at=now)
