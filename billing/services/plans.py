"""The sync step that mirrors an account's service plans (Audian)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing.models import ServicePlan
from portal.models import ProviderAccount
from portal.providers.base import ProviderAdapter
from portal.providers.base import ServicePlan as UpstreamServicePlan
from portal.providers.capabilities import Capability
from portal.providers.optional import Endpoint
from portal.services.endpoints import AccountEndpoints
from portal.services.sync import SyncCounts


def sync_service_plans(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """Make the account's stored plans equal to the upstream's list: new plans are created,
    changed ones updated, unchanged ones left alone (a second sync writes nothing).

    Plans are the account's current price list, not history, so a plan the upstream no
    longer lists is removed; the list is read whole before anything is written, so a
    failed read changes nothing. An endpoint the account does not offer (the list, or the
    plans' own documents that hold their rates) is recorded on the account, not failed:
    without the documents, plans are stored without rates and stored rates are kept."""
    if not adapter.supports(Capability.SERVICE_PLANS):
        # Nothing was asked of the upstream: this step cannot vouch for a run's success.
        return SyncCounts(from_upstream=False)
    endpoints = AccountEndpoints(account, now=now)
    listed = endpoints.read(
        Endpoint.SERVICE_PLANS,
        lambda: adapter.list_service_plans(endpoints=endpoints),
        default=None,
    )
    if listed is None:
        return SyncCounts(from_upstream=False)  # not offered: the stored plans stay
    plans = {plan.upstream_id: plan for plan in listed}
    counts = SyncCounts(fetched=len(plans))
    _store(
        account,
        plans,
        now,
        counts,
        rates_read=endpoints.offered(Endpoint.SERVICE_PLAN_DETAILS),
    )
    progress(counts)
    return counts


@transaction.atomic
def _store(
    account: ProviderAccount,
    plans: Mapping[str, UpstreamServicePlan],
    now: datetime,
    counts: SyncCounts,
    *,
    rates_read: bool,
) -> None:
    stored = {plan.upstream_id: plan for plan in ServicePlan.objects.filter(account=account)}
    for upstream_id, record in plans.items():
        values = {"name": record.name[:200], "description": record.description}
        # Unread rates are unknown, not none: the ones stored stay (a new plan has none).
        if rates_read:
            values["rates"] = decimal_strings(record.rates)
        plan = stored.get(upstream_id)
        if plan is None:
            ServicePlan.objects.create(
                account=account, upstream_id=upstream_id[:128], synced_at=now, **values
            )
            counts.created += 1
        elif any(getattr(plan, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(plan, name, value)
            plan.synced_at = now
            plan.save(update_fields=[*values, "synced_at"])
            counts.updated += 1
    gone = [plan.pk for upstream_id, plan in stored.items() if upstream_id not in plans]
    if gone:
        ServicePlan.objects.filter(pk__in=gone).delete()
        counts.updated += len(gone)


def decimal_strings(value: Any) -> Any:
    """The rates as JSON with every amount a decimal string: a float in a JSON column would
    round the price the next time it is read."""
    if isinstance(value, Mapping):
        return {str(key): decimal_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [decimal_strings(item) for item in value]
    if isinstance(value, Decimal | float):
        return str(Decimal(str(value)))
    return value
