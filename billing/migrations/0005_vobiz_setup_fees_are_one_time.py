"""Vobiz books a number's setup fee under `did_rental`, like its monthly rental, and the
sync took both for recurring charges. The adapter now reads a setup fee as the one-time
debit it is (portal.upstream.vobiz.ONE_TIME_RENTAL_CHARGE); the ledger is append-only, so
the rows synced before are corrected here, by the same words in their description."""

from django.db import migrations
from django.db.models import Q

ONE_TIME_WORDS = ("setup", "set-up", "activation", "one-time", "one time")


def _setup_fees(apps, kind):
    Transaction = apps.get_model("billing", "Transaction")
    described = Q()
    for word in ONE_TIME_WORDS:
        described |= Q(description__icontains=word)
    return Transaction.objects.filter(
        described, account__provider__slug="vobiz", kind=kind, is_estimate=False
    )


def setup_fees_are_debits(apps, schema_editor):
    _setup_fees(apps, "recurring").update(kind="debit")


def setup_fees_are_recurring(apps, schema_editor):
    _setup_fees(apps, "debit").update(kind="recurring")


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_drop_kind_and_currency_indexes"),
        ("portal", "0001_initial"),
    ]

    operations = [migrations.RunPython(setup_fees_are_debits, setup_fees_are_recurring)]
