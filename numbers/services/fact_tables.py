"""Adding changes to a fact table (NumberDay, NumberMonth, LabelMonth): the rows a change
touches are moved by it, a row left with nothing in it goes.

On PostgreSQL the changes go in as increments (`INSERT … ON CONFLICT DO UPDATE SET x = x +
excluded.x`, keys in one order), so the two connections that write a ledger at once
(portal.db.parallel_writes) can both move the same month. Elsewhere the rows a change
touches are read, added to in Python and written back: SQLite would add decimals in SQL
as binary floats, and it has a single writer anyway.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import F

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

    def negated(self) -> Facts:
        return Facts(*(-value for value in astuple(self)))


FACT_FIELDS = tuple(Facts.__dataclass_fields__)
DAY_FIELDS = FACT_FIELDS[:4]  # a day holds calls only

# (key, period start, currency) → (the number's id or None, its facts), where the key is the
# number (NumberDay, NumberMonth) or the label (LabelMonth): the tables' unique key within
# an account.
Changes = dict[tuple[str, date, str], tuple[int | None, Facts]]


@dataclass(frozen=True)
class FactTable:
    """A fact table as the writers see it: its model, the column its rows are keyed by
    beside account, period and currency, its period column and the facts it holds."""

    model: type
    key: str
    period: str
    fields: tuple[str, ...]

    @property
    def linked(self) -> bool:
        """Whether its rows link to their phone number."""
        return self.key == "number"


def add_changes(account: ProviderAccount, table: FactTable, changes: Changes) -> None:
    changes = {key: slot for key, slot in changes.items() if any(astuple(slot[1]))}
    if changes:
        write = _increment if connection.vendor == "postgresql" else _read_and_add
        write(account, table, changes)


def _read_and_add(account, table: FactTable, changes: Changes) -> None:
    fields, period, key_column = table.fields, table.period, table.key
    stored = {
        (getattr(row, key_column), getattr(row, period), row.currency): row
        for row in table.model.objects.filter(
            AnyOf(F(key_column), sorted({key for key, _, _ in changes})),
            AnyOf(F(period), sorted({start for _, start, _ in changes})),
            account=account,
        )
    }
    new, changed, emptied = [], [], []
    for key, (phone_number_id, delta) in changes.items():
        row = stored.get(key)
        if row is None:
            value, start, currency = key
            link = {"phone_number_id": phone_number_id} if table.linked else {}
            new.append(
                {
                    "account_id": account.pk,
                    key_column: value,
                    period: start,
                    "currency": currency,
                    **link,
                    **{name: getattr(delta, name) for name in fields},
                }
            )
            continue
        for name in fields:
            setattr(row, name, getattr(row, name) + getattr(delta, name))
        (changed if any(getattr(row, name) for name in fields) else emptied).append(row)
    insert_rows(table.model, new)
    table.model.objects.bulk_update(changed, fields)
    # A period left with nothing in it (its one call priced in another currency) goes.
    table.model.objects.filter(pk__in=[row.pk for row in emptied]).delete()


def _increment(account, table: FactTable, changes: Changes) -> None:
    fields, period, db_table = table.fields, table.period, table.model._meta.db_table
    keys = sorted(changes)  # one order for every writer: they wait, never deadlock
    columns = [table.key, period, "currency"]
    values = [[key[0] for key in keys], [key[1] for key in keys], [key[2] for key in keys]]
    types = ["text", "date", "text"]
    link = ""
    if table.linked:
        columns.append("phone_number_id")
        values.append([changes[key][0] for key in keys])
        types.append("bigint")
        link = f""",
            phone_number_id = COALESCE({db_table}.phone_number_id, excluded.phone_number_id)"""
    columns += fields
    values += [[getattr(changes[key][1], name) for key in keys] for name in fields]
    types += [_SQL_TYPES[name] for name in fields]
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    added = ", ".join(f"{name} = {db_table}.{name} + excluded.{name}" for name in fields)
    # Table and column names come from the model, values go as parameters.
    sql = f"""
        INSERT INTO {db_table} (account_id, {", ".join(columns)})
        SELECT %s, changes.* FROM unnest({arrays}) AS changes
        ON CONFLICT (account_id, {table.key}, {period}, currency) DO UPDATE SET {added}{link}
        RETURNING id, {", ".join(fields)}
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk, *values])
        # A period left with nothing in it (its one call priced in another currency) goes.
        emptied = [row[0] for row in cursor.fetchall() if not any(row[1:])]
        if emptied:
            cursor.execute(f"DELETE FROM {db_table} WHERE id = ANY(%s)", [emptied])  # noqa: S608


_SQL_TYPES = {
    "calls": "integer",
    "billed_seconds": "bigint",
    "cost": "numeric",
    "unpriced_calls": "integer",
    "charged": "numeric",
    "estimated": "numeric",
}
