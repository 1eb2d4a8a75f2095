"""Statistics on how many label pairs the phone numbers have, for the spend report by label.

The report groups charges by the label a number shows (its own, else its upstream label).
Without these statistics PostgreSQL multiplies the distinct values of the two columns and
expects tens of thousands of groups where there are a few hundred pairs, so it sorts half a
million rows instead of adding them up in a small hash table: twice as slow. Django's models
cannot declare statistics, hence SQL; SQLite has no such thing and needs none."""

from django.db import migrations

from portal.db import on_postgresql

STATISTICS = "number_label_pair"


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("numbers", "0002_phonenumber_list_order_index"),
    ]

    operations = [
        migrations.RunPython(
            on_postgresql(
                f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct) "
                "ON label, upstream_label FROM numbers_phonenumber",
                # Gather them now, not at the next autovacuum.
                "ANALYZE numbers_phonenumber",
            ),
            on_postgresql(f"DROP STATISTICS IF EXISTS {STATISTICS}"),
        )
    ]
