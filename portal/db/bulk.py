"""Writing and looking up rows by the thousand, for the sync.

`bulk_create` builds an instance per row and prepares every value of every field through
the field's own code, and `__in` gives each value a parameter of its own: for a sync of
100,000 numbers that preparation alone costs more than fetching them. Rows here are plain
dicts of values already in the fields' Python types (str, bool, Decimal, aware datetime,
ids), which PostgreSQL's COPY takes as they are; looked-up values go as one array.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext

from django.core.exceptions import EmptyResultSet
from django.db import connections, models, router
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Lookup
from django.utils import timezone


def insert_rows(model: type[models.Model], rows: Sequence[dict]) -> None:
    """Insert `rows` (attribute name → value) as new rows of `model`.

    A field a row leaves out gets its default, or the time of the call for an `auto_now`
    or `auto_now_add` field, as `save` would give it. On PostgreSQL the rows go in one
    COPY; elsewhere through `bulk_create`. A constraint violated raises Django's
    IntegrityError either way."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows])
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    defaults = _defaults(fields, connection)
    # A JSON value is the one COPY cannot take as it is: it goes through its field.
    json_fields = [
        (field.attname, field) for field in fields if isinstance(field, models.JSONField)
    ]
    if json_fields:
        rows = [
            {
                **row,
                **{
                    name: field.get_db_prep_save(row[name], connection)
                    for name, field in json_fields
                    if name in row
                },
            }
            for row in rows
        ]
    with connection.cursor() as cursor:
        copy_rows(
            cursor,
            model._meta.db_table,
            [field.column for field in fields],
            ([row.get(name, default) for name, default in defaults] for row in rows),
        )


def copy_rows(cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """PostgreSQL: COPY `rows` (values in `columns` order) into `table` through `cursor`
    (Django's), which takes Python's str, bool, int, Decimal and aware datetimes as they
    are. A constraint violated raises Django's IntegrityError, as an INSERT would."""
    quote = cursor.db.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    with _logged(cursor, sql), cursor.db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _logged(cursor, sql: str):
    # Listed in connection.queries like any statement when queries are logged (DEBUG,
    # CaptureQueriesContext); COPY goes to psycopg's cursor, past Django's logging.
    return cursor.debug_sql(sql) if isinstance(cursor, CursorDebugWrapper) else nullcontext()


def _defaults(fields, connection) -> list[tuple[str, object]]:
    """(attribute name, value for a row without it) of each field, in column order."""
    now = timezone.now()
    return [
        (
            field.attname,
            now
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            else field.get_db_prep_save(field.get_default(), connection),
        )
        for field in fields
    ]


class AnyOf(Lookup):
    """`AnyOf(F("column"), values)`: the column equals one of `values`, given in the
    column's own type. PostgreSQL gets `= ANY(%s)` with the values as one array parameter;
    other databases the IN list `__in` would write."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self._lhs_sql(compiler, connection)
        placeholders = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({placeholders})", (*lhs_params, *self.rhs)

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self._lhs_sql(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, list(self.rhs))

    def _lhs_sql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet  # matches nothing: Django skips the query
        return self.process_lhs(compiler, connection)
