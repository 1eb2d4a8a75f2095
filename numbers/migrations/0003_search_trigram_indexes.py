"""Trigram indexes for the numbers list's search, which matches text anywhere inside the
number and the two labels (`LIKE '%415555%'`, `UPPER(label) LIKE '%ACME%'`): a B-tree serves
no such pattern, so without them every search reads the whole table.

The label indexes are on UPPER(...) because that is the expression Django's `icontains`
compares. PostgreSQL only (pg_trgm is a trusted extension: the database owner may create
it); SQLite scans, which at a development database's size is instant."""

from django.db import migrations

from portal.db import on_postgresql

INDEXES = {
    "number_digits_trgm": "number",
    "number_label_trgm": "UPPER(label)",
    "number_upstream_label_trgm": "UPPER(upstream_label)",
}


class Migration(migrations.Migration):
    dependencies = [("numbers", "0002_phonenumber_list_order_index")]

    operations = [
        migrations.RunPython(
            on_postgresql(
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                *(
                    f"CREATE INDEX IF NOT EXISTS {name} ON numbers_phonenumber "
                    f"USING gin ({expression} gin_trgm_ops)"
                    for name, expression in INDEXES.items()
                ),
            ),
            # The extension stays: other objects may use it by then.
            on_postgresql(*(f"DROP INDEX IF EXISTS {name}" for name in INDEXES)),
        )
    ]
