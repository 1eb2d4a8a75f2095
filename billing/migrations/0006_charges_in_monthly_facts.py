"""The charges already stored are counted in the monthly facts (numbers.NumberMonth), which
the spend report now adds up instead of the ledger; from here on the syncs count each
charge as they store it (billing.services.charge_facts).

Written against this migration's models, in Python: exact on every database (SQLite would
add the amounts as floats), and run once, on ledgers the size of a live install's."""

from collections import defaultdict
from decimal import Decimal

from django.db import migrations
from django.utils import timezone

CHARGES = ("debit", "recurring", "usage")


def forwards(apps, schema_editor):
    Transaction = apps.get_model("billing", "Transaction")
    NumberMonth = apps.get_model("numbers", "NumberMonth")
    zone = timezone.get_default_timezone()
    months = defaultdict(lambda: [None, Decimal(0), Decimal(0)])
    rows = (
        Transaction.objects.filter(kind__in=CHARGES)
        .values_list(
            "account_id",
            "number",
            "currency",
            "occurred_at",
            "phone_number_id",
            "amount",
            "is_estimate",
        )
        .order_by()
    )
    for account, number, currency, when, number_id, amount, estimate in rows.iterator(
        chunk_size=20_000
    ):
        month = timezone.localdate(when, zone).replace(day=1)
        facts = months[(account, number, month, currency)]
        facts[0] = facts[0] or number_id
        facts[2 if estimate else 1] += amount
    NumberMonth.objects.bulk_create(
        (
            NumberMonth(
                account_id=account,
                number=number,
                month=month,
                currency=currency,
                phone_number_id=number_id,
                charged=charged,
                estimated=estimated,
            )
            for (account, number, month, currency), (number_id, charged, estimated) in (
                months.items()
            )
        ),
        batch_size=5_000,
    )


def backwards(apps, schema_editor):
    apps.get_model("numbers", "NumberMonth").objects.update(charged=0, estimated=0)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_vobiz_setup_fees_are_one_time"),
        ("numbers", "0008_call_records"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
