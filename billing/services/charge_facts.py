"""The ledger's charges in the monthly facts (numbers.models.NumberMonth): every charge
stored is counted there as it is stored, so the spend report adds up months, not
transactions.

Charges are what the spend report has always counted: debits, recurring and usage rows
(credits are money in), the portal's estimated rentals apart from the provider's own."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from billing.models import Transaction
from numbers.models import NumberMonth
from numbers.services.facts import FactDelta
from numbers.services.label_facts import rebuild_label_facts
from portal.models import ProviderAccount


def count_charges(account: ProviderAccount, rows: Iterable[dict]) -> None:
    """Add the charges among `rows` (transactions just stored, as values: kind, amount,
    currency, occurred_at, number, phone_number_id, is_estimate) to the account's months."""
    delta = FactDelta(account)
    for row in rows:
        if row["kind"] in Transaction.DEBIT_KINDS:
            delta.add_charge(
                number=row["number"],
                phone_number_id=row["phone_number_id"],
                occurred_at=row["occurred_at"],
                amount=row["amount"],
                currency=row["currency"],
                estimated=row["is_estimate"],
            )
    delta.save()


CHARGE_VALUES = (
    "kind",
    "amount",
    "currency",
    "occurred_at",
    "number",
    "phone_number_id",
    "is_estimate",
)


@transaction.atomic
def recount_charges(accounts: Iterable[ProviderAccount] | None = None) -> None:
    """Count the accounts' (all accounts') stored charges in their months again from the
    ledger, which is kept whole: for data written before the facts existed, or by a bulk
    load that went around the syncs (the benchmark's seed)."""
    accounts = list(ProviderAccount.objects.all() if accounts is None else accounts)
    NumberMonth.objects.filter(account__in=accounts).update(charged=0, estimated=0)
    NumberMonth.objects.filter(account__in=accounts, calls=0).delete()
    rebuild_label_facts(accounts)
    for account in accounts:
        charges = Transaction.objects.filter(
            Q(kind__in=Transaction.DEBIT_KINDS), account=account
        ).values(*CHARGE_VALUES)
        batch = []
        for row in charges.iterator(chunk_size=20_000):
            batch.append(row)
            if len(batch) == 20_000:
                count_charges(account, batch)
                batch = []
        count_charges(account, batch)
