"""Report aggregates, cached while the data they add up has not changed.

The spend report, the transactions' totals and the recurring-cost report add up hundreds
of thousands of rows, and finance opens the same reports again and again between two
syncs. A result is cached under its SQL and the state of the data it reads:

- the newest transaction id: the ledger is append-only (no code path or admin page updates
  or deletes a transaction), so every new row moves it;
- the newest change to a number: numbers are never deleted, and every change to one
  (label, tags, status, sync) stamps `updated_at`;
- the newest call-records mark: the call sync moves it past every window it stores (and so
  past every change it makes to the monthly facts the spend report adds up).

A new transaction or an edited label therefore changes the key at once. Two writers
committing out of id order could leave a result keyed on the later id without the earlier's
rows; the timeout bounds that to a minute. Results live in the process's own cache
(settings.CACHES["reports"]): no server to run, and a restart only costs one computation.
"""

from __future__ import annotations

import hashlib

from django.core.cache import caches
from django.db import connection
from django.db.models import QuerySet

from billing.models import Transaction
from numbers.models import PhoneNumber
from portal.models import ProviderAccount

TIMEOUT_SECONDS = 60


def data_state() -> tuple:
    """What a cached result is valid for: one query, an index look-up per table (and the
    accounts' few rows)."""
    # Table names from the models, no input in the SQL.
    last_id = f"SELECT MAX(id) FROM {Transaction._meta.db_table}"  # noqa: S608
    changed = f"SELECT MAX(updated_at) FROM {PhoneNumber._meta.db_table}"  # noqa: S608
    calls = f"SELECT MAX(calls_synced_until) FROM {ProviderAccount._meta.db_table}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ({last_id}), ({changed}), ({calls})")
        return cursor.fetchone()


def cached_rows(queryset: QuerySet) -> list:
    """The rows of `queryset` (a grouped aggregate: a few hundred rows), from the cache
    while the data has not changed."""
    sql, params = queryset.query.sql_with_params()
    key = hashlib.sha256(repr((connection.alias, sql, params, data_state())).encode()).hexdigest()
    cache = caches["reports"]
    rows = cache.get(key)
    if rows is None:
        rows = list(queryset)
        cache.set(key, rows, TIMEOUT_SECONDS)
    return rows
