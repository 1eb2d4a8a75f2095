"""Moving the usage rollups (NumberDay, NumberMonth) by what the call sync stored.

The rollups are kept forever while raw calls are not (settings.CALL_RETENTION_DAYS), so
they are moved by each change, never rebuilt from the calls: a call stored adds itself, a
call priced later takes its unpriced self out and adds its priced self. Only the call sync
writes them, one run per account at a time, so reading the rows a change touches and
writing them back is safe without locks, and exact on every database (SQLite would add
decimals in SQL as binary floats).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal

from django.db.models import F

from numbers.models import NumberDay, NumberMonth, UsageFacts
from portal.db.bulk import AnyOf, insert_rows
from portal.models import ProviderAccount

FACT_FIELDS = ("calls", "billed_seconds", "cost", "unpriced_calls")


@dataclass
class Facts:
    phone_number_id: int | None
    calls: int = 0
    billed_seconds: int = 0
    cost: Decimal = Decimal(0)
    unpriced_calls: int = 0

    def add(self, other: Facts) -> None:
        self.calls += other.calls
        self.billed_seconds += other.billed_seconds
        self.cost += other.cost
        self.unpriced_calls += other.unpriced_calls


# (number, period start, currency): the rollups' key within an account.
Key = tuple[str, date, str]


class UsageDelta:
    """Changes to one account's rollups, gathered call by call, then written in one go."""

    def __init__(self, account: ProviderAccount):
        self.account = account
        self.days: dict[Key, Facts] = {}

    def add(self, call: dict, sign: int = 1) -> None:
        """Count `call` (its values: number, phone_number_id, started_at, duration and
        billed seconds, cost or None, currency) in its day, or with sign -1 take it out."""
        day = call["started_at"].astimezone(UTC).date()
        key = (call["number"], day, call["currency"])
        facts = self.days.setdefault(key, Facts(call["phone_number_id"]))
        # Billed seconds where the provider states them, else the call's duration.
        seconds = call["billed_seconds"]
        seconds = call["duration_seconds"] if seconds is None else seconds
        facts.add(
            Facts(
                None,
                calls=sign,
                billed_seconds=sign * seconds,
                cost=sign * (call["cost"] or 0),
                unpriced_calls=sign * (call["cost"] is None),
            )
        )

    def remove(self, call: dict) -> None:
        self.add(call, sign=-1)

    def save(self) -> None:
        months: dict[Key, Facts] = {}
        for (number, day, currency), facts in self.days.items():
            month = months.setdefault(
                (number, day.replace(day=1), currency), Facts(facts.phone_number_id)
            )
            month.add(facts)
        _apply(self.account, NumberDay, "day", self.days)
        _apply(self.account, NumberMonth, "month", months)
        self.days = {}


def _apply(account, model: type[UsageFacts], period: str, changes: dict[Key, Facts]) -> None:
    changes = {key: facts for key, facts in changes.items() if any(_values(facts))}
    if not changes:
        return
    numbers = sorted({number for number, _, _ in changes})
    periods = sorted({start for _, start, _ in changes})
    stored = {
        (row.number, getattr(row, period), row.currency): row
        for row in model.objects.filter(
            AnyOf(F("number"), numbers),
            AnyOf(F(period), periods),
            account=account,
        )
    }
    new, changed, emptied = [], [], []
    for key, delta in changes.items():
        row = stored.get(key)
        if row is None:
            number, start, currency = key
            new.append(
                {
                    "account_id": account.pk,
                    "phone_number_id": delta.phone_number_id,
                    "number": number,
                    period: start,
                    "currency": currency,
                    **dict(zip(FACT_FIELDS, _values(delta), strict=True)),
                }
            )
            continue
        for name, value in zip(FACT_FIELDS, _values(delta), strict=True):
            setattr(row, name, getattr(row, name) + value)
        (changed if row.calls else emptied).append(row)
    insert_rows(model, new)
    model.objects.bulk_update(changed, FACT_FIELDS)
    # A period left with no call (its only call moved to another currency) goes.
    model.objects.filter(pk__in=[row.pk for row in emptied]).delete()


def _values(facts: Facts) -> tuple:
    return (facts.calls, facts.billed_seconds, facts.cost, facts.unpriced_calls)
