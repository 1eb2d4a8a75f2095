"""The balance sync step: a snapshot of each account's balance as the provider states it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from billing.models import BalanceSnapshot
from portal.models import ProviderAccount
from portal.providers.base import ProviderAdapter
from portal.providers.capabilities import Capability
from portal.providers.optional import Endpoint
from portal.services.endpoints import AccountEndpoints
from portal.services.sync import SyncCounts


def snapshot_balance(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """Record the balance when it differs from the latest snapshot. An unchanged balance
    writes nothing: the run's time already says when it was last confirmed. A balance the
    account does not offer (404/405/501) is recorded on the account, not failed."""
    counts = SyncCounts()
    if not adapter.supports(Capability.BALANCE):
        return counts
    endpoints = AccountEndpoints(account, now=now)
    balance = endpoints.read(Endpoint.BALANCE, adapter.get_balance, default=None)
    if balance is None:
        # Nothing was read: this step cannot vouch for a run's success.
        return SyncCounts(from_upstream=False)
    counts.fetched = 1
    latest = BalanceSnapshot.objects.filter(account=account).order_by("-taken_at").first()
    unchanged = latest is not None and (latest.balance, latest.currency, latest.credit_limit) == (
        balance.amount,
        balance.currency,
        balance.credit_limit,
    )
    if not unchanged:
        BalanceSnapshot.objects.create(
            account=account,
            balance=balance.amount,
            currency=balance.currency,
            credit_limit=balance.credit_limit,
            taken_at=now,
        )
        counts.created = 1
    return counts
