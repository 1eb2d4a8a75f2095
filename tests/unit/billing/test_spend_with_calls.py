"""Issue 20: call records change no ledger provider's spend (their cost is already in the
ledger: calls only break it down), and add their actual cost to the spend of providers
without a ledger, kept apart from the estimated rentals."""

from decimal import Decimal

import pytest

from billing.selectors.months import MonthRange, this_month
from billing.selectors.spend import spend_by_month
from numbers.models import Call
from portal.models import SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.world import in_process

pytestmark = pytest.mark.django_db

PERIOD_MONTHS = 13


def spend_per_account(period):
    """{account name: (per-month amounts, per-month estimated parts, calls, call cost)}."""
    report = spend_by_month(period, "account")
    return {
        group.name: (
            [cell.amount for cell in group.cells],
            [cell.estimated for cell in group.cells],
            group.calls,
            group.call_cost,
        )
        for spend in report.currencies
        for group in spend.groups
    }


def test_ledger_spend_stays_and_spend_without_a_ledger_gains_its_calls_actual():
    world = in_process(build_state(numbers=12, transactions=120, inventory=1, calls=300))
    period = MonthRange.ending(this_month(), PERIOD_MONTHS)
    for account in world.accounts.values():
        for kind in (SyncRun.Kind.NUMBERS, SyncRun.Kind.TRANSACTIONS):
            run = sync_account(account, kind, transport=world.transport)
            assert run.status == SyncRun.Status.SUCCEEDED, run.error
    before = spend_per_account(period)

    for account in world.accounts.values():
        run = sync_account(account, SyncRun.Kind.CALLS, transport=world.transport)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
    after = spend_per_account(period)

    for slug, account in world.accounts.items():
        amounts, estimated, calls, call_cost = after[account.name]
        month_cost = [Decimal(0)] * period.count
        stored = Call.objects.filter(account=account, started_at__gte=period.starts_at)
        for call in stored:
            month = call.started_at.astimezone(period.starts_at.tzinfo).date().replace(day=1)
            month_cost[period.months.index(month)] += call.cost
        assert calls == stored.count() > 0, slug
        assert call_cost == sum(month_cost), slug
        # The estimated part is the estimated rentals, before and after.
        assert estimated == before[account.name][1], slug
        if slug in ("audian", "vobiz"):
            assert amounts == before[account.name][0], f"{slug}: calls added to its ledger"
        else:
            assert amounts == [
                old + cost for old, cost in zip(before[account.name][0], month_cost, strict=True)
            ], slug
