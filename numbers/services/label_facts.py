"""The monthly facts per label (numbers.models.LabelMonth), kept equal to the numbers'
monthly facts added up by the label each number shows now: its own, else the provider's.

Two kinds of writes move them: the syncs add what they store to the labels the numbers
show (`add_to_labels`), and a label change moves the number's months from its old label to
its new one (`move_labels`). On PostgreSQL the two are kept apart per provider by an
advisory lock held to the end of the transaction: writers of facts share it, a label change
takes it alone. So a label change waits for the facts being written under the old label and
then moves them with the rest, and facts written after it read the new label. (SQLite has
one writer at a time.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import F

from numbers.models import LabelMonth, NumberMonth, PhoneNumber
from numbers.services.fact_tables import FACT_FIELDS, Changes, Facts, FactTable, add_changes
from portal.db.bulk import AnyOf
from portal.models import ProviderAccount

LABEL_MONTHS = FactTable(LabelMonth, "label", "month", FACT_FIELDS)
# The label a number shows, in the SQL of the syncs that move the facts in the database.
SHOWN_LABEL_SQL = "COALESCE(NULLIF({phone}.label, ''), {phone}.upstream_label, '')"
# The first key of the advisory lock ("label facts"); the second is the provider's id.
LOCK_NAMESPACE = 4_851_301


def lock_label_facts(provider_id: int, *, exclusive: bool = False) -> None:
    """Take the provider's label-facts lock until the transaction ends (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [LOCK_NAMESPACE, provider_id])


def shown_label(label: str, upstream_label: str) -> str:
    return label or upstream_label


def shown_labels(provider_id: int, numbers: Iterable[str]) -> dict[str, str]:
    """The label each of the provider's `numbers` shows; a number the portal does not hold
    is left out (its facts count under no label)."""
    numbers = sorted(set(numbers))
    if not numbers:
        return {}
    rows = PhoneNumber.objects.filter(
        AnyOf(F("number"), numbers), provider_id=provider_id
    ).values_list("number", "label", "upstream_label")
    return {number: shown_label(label, upstream) for number, label, upstream in rows}


def add_to_labels(account: ProviderAccount, months: Changes) -> None:
    """Add `months` (changes to the account's NumberMonth rows, keyed by number) to the
    labels their numbers show. The caller holds the shared lock (lock_label_facts)."""
    labels = shown_labels(account.provider_id, (number for number, _, _ in months if number))
    changes: Changes = {}
    for (number, month, currency), (_, facts) in months.items():
        _add(changes, (labels.get(number, ""), month, currency), facts)
    add_changes(account, LABEL_MONTHS, changes)


def move_labels(provider_id: int, moves: dict[str, tuple[str, str]]) -> None:
    """Move the months of the provider's numbers in `moves` (number → its shown label before
    and after a change) from the old label to the new. Called in the transaction that
    changes the labels, after it wrote them."""
    moves = {number: labels for number, labels in moves.items() if labels[0] != labels[1]}
    if not moves:
        return
    lock_label_facts(provider_id, exclusive=True)
    per_account: dict[int, Changes] = defaultdict(dict)
    months = NumberMonth.objects.filter(
        AnyOf(F("number"), sorted(moves)),
        account__in=ProviderAccount.objects.filter(provider_id=provider_id),
    ).values_list("account_id", "number", "month", "currency", *FACT_FIELDS)
    for account_id, number, month, currency, *values in months:
        old, new = moves[number]
        facts = Facts(*values)
        _add(per_account[account_id], (old, month, currency), facts.negated())
        _add(per_account[account_id], (new, month, currency), facts)
    for account_id, changes in per_account.items():
        add_changes(ProviderAccount(pk=account_id), LABEL_MONTHS, changes)


def rebuild_label_facts(accounts: Iterable[ProviderAccount]) -> None:
    """Make the accounts' label facts anew from their number facts: for data written
    around the syncs (the benchmark's bulk seed, the migration that added them)."""
    for account in accounts:
        lock_label_facts(account.provider_id, exclusive=True)
        LabelMonth.objects.filter(account=account).delete()
        months = NumberMonth.objects.filter(account=account).values_list(
            "number", "month", "currency", *FACT_FIELDS
        )
        changes: Changes = {}
        for number, month, currency, *values in months.iterator(chunk_size=20_000):
            _add(changes, (number, month, currency), Facts(*values))
        add_to_labels(account, changes)


def _add(changes: Changes, key: tuple, facts: Facts) -> None:
    changes.setdefault(key, (None, Facts()))[1].add(facts)
