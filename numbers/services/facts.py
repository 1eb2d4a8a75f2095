"""Moving the fact tables (NumberDay, NumberMonth) by what the syncs stored.

The facts are kept forever while raw calls are not (settings.CALL_RETENTION_DAYS), so they
are moved by each change, never rebuilt from calls: a call stored adds itself, a call priced
later takes its unpriced self out and adds its priced self, a charge appended to the ledger
adds its amount. Days and months are those of the configured time zone, as the reports'.

On PostgreSQL the changes go in as increments (`INSERT … ON CONFLICT DO UPDATE SET x = x +
excluded.x`, keys in one order), so the two connections that write a ledger at once
(portal.db.parallel_writes) can both move the same month. Elsewhere the rows a change
touches are read, added to in Python and written back: SQLite would add decimals in SQL
as binary floats, and it has a single writer anyway.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import F
from django.utils import timezone

from numbers.models import NumberDay, NumberMonth
from portal.db.bulk import AnyOf, insert_rows
from portal.models import ProviderAccount


@dataclass
class Facts:
    calls: int = 0
    billed_seconds: int = 0
    cost: Decimal = Decimal(0)
    unpriced_calls: int = 0
    charged: Decimal = Decimal(0)
    estimated: Decimal = Decimal(0)

    def add(self, other: Facts) -> None:
        for name in FACT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


FACT_FIELDS = tuple(Facts.__dataclass_fields__)
DAY_FIELDS = FACT_FIELDS[:4]  # a day holds calls only

# (number, period start, currency) → (the number's id, its facts): the key is the tables'
# unique key within an account.
Changes = dict[tuple[str, date, str], tuple[int | None, Facts]]


class FactDelta:
    """Changes to one account's facts, gathered one call or charge at a time, then written
    in one go by `save`."""

    def __init__(self, account: ProviderAccount):
        self.account = account
        self.days: Changes = {}
        self.months: Changes = {}

    def add_call(self, call: dict, sign: int = 1) -> None:
        """Count `call` (its values: number, phone_number_id, started_at, duration and
        billed seconds, cost or None, currency) in its day and month; with sign -1, take it
        out of them."""
        seconds = call["billed_seconds"]
        # Billed seconds where the provider states them, else the call's duration.
        seconds = call["duration_seconds"] if seconds is None else seconds
        facts = Facts(
            calls=sign,
            billed_seconds=sign * seconds,
            cost=sign * (call["cost"] or 0),
            unpriced_calls=sign * (call["cost"] is None),
        )
        day = local_day(call["started_at"])
        key = (call["number"], call["currency"])
        self._add(self.days, key, day, call["phone_number_id"], facts)
        self._add(self.months, key, day.replace(day=1), call["phone_number_id"], facts)

    def add_charge(
        self,
        *,
        number: str,
        phone_number_id: int | None,
        occurred_at: datetime,
        amount: Decimal,
        currency: str,
        estimated: bool,
    ) -> None:
        """Count a charge of the ledger (or an estimated rental) in its month."""
        facts = Facts(estimated=amount) if estimated else Facts(charged=amount)
        month = local_day(occurred_at).replace(day=1)
        self._add(self.months, (number, currency), month, phone_number_id, facts)

    @staticmethod
    def _add(changes: Changes, key, start: date, phone_number_id, facts: Facts) -> None:
        number, currency = key
        slot = changes.setdefault((number, start, currency), (phone_number_id, Facts()))
        slot[1].add(facts)

    def save(self) -> None:
        write = _increment if connection.vendor == "postgresql" else _read_and_add
        write(self.account, NumberDay, "day", DAY_FIELDS, self.days)
        write(self.account, NumberMonth, "month", FACT_FIELDS, self.months)
        self.days, self.months = {}, {}


def local_day(moment: datetime) -> date:
    return timezone.localdate(moment, timezone.get_default_timezone())


def _moving(changes: Changes) -> Changes:
    return {key: slot for key, slot in changes.items() if any(astuple(slot[1]))}


def _read_and_add(account, model, period: str, fields: tuple, changes: Changes) -> None:
    changes = _moving(changes)
    if not changes:
        return
    stored = {
        (row.number, getattr(row, period), row.currency): row
        for row in model.objects.filter(
            AnyOf(F("number"), sorted({number for number, _, _ in changes})),
            AnyOf(F(period), sorted({start for _, start, _ in changes})),
            account=account,
        )
    }
    new, changed, emptied = [], [], []
    for key, (phone_number_id, delta) in changes.items():
        row = stored.get(key)
        if row is None:
            number, start, currency = key
            new.append(
                {
                    "account_id": account.pk,
                    "phone_number_id": phone_number_id,
                    "number": number,
                    period: start,
                    "currency": currency,
                    **{name: getattr(delta, name) for name in fields},
                }
            )
            continue
        for name in fields:
            setattr(row, name, getattr(row, name) + getattr(delta, name))
        (changed if any(getattr(row, name) for name in fields) else emptied).append(row)
    insert_rows(model, new)
    model.objects.bulk_update(changed, fields)
    # A period left with nothing in it (its one call priced in another currency) goes.
    model.objects.filter(pk__in=[row.pk for row in emptied]).delete()


def _increment(account, model, period: str, fields: tuple, changes: Changes) -> None:
    changes = _moving(changes)
    if not changes:
        return
    table = model._meta.db_table
    keys = sorted(changes)  # one order for every writer: they wait, never deadlock
    columns = ["number", period, "currency", "phone_number_id", *fields]
    values = [
        [key[0] for key in keys],
        [key[1] for key in keys],
        [key[2] for key in keys],
        [changes[key][0] for key in keys],
        *([getattr(changes[key][1], name) for key in keys] for name in fields),
    ]
    types = ["text", "date", "text", "bigint", *(_SQL_TYPES[name] for name in fields)]
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    added = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in fields)
    # Table and column names come from the model, values go as parameters.
    sql = f"""
        INSERT INTO {table} (account_id, {", ".join(columns)})
        SELECT %s, changes.* FROM unnest({arrays}) AS changes
        ON CONFLICT (account_id, number, {period}, currency) DO UPDATE SET {added},
            phone_number_id = COALESCE({table}.phone_number_id, excluded.phone_number_id)
        RETURNING id, {", ".join(fields)}
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk, *values])
        # A period left with nothing in it (its one call priced in another currency) goes.
        emptied = [row[0] for row in cursor.fetchall() if not any(row[1:])]
        if emptied:
            cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [emptied])  # noqa: S608


_SQL_TYPES = {
    "calls": "integer",
    "billed_seconds": "bigint",
    "cost": "numeric",
    "unpriced_calls": "integer",
    "charged": "numeric",
    "estimated": "numeric",
}
