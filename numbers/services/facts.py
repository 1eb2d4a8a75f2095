"""Moving the fact tables (NumberDay, NumberMonth, LabelMonth) by what the syncs stored.

The facts are kept forever while raw calls are not (settings.CALL_RETENTION_DAYS), so they
are moved by each change, never rebuilt from calls: a call stored adds itself, a call priced
later takes its unpriced self out and adds its priced self, a charge appended to the ledger
adds its amount. Days and months are those of the configured time zone, as the reports'.

How the changes reach each table: numbers.services.fact_tables; the labels' facts:
numbers.services.label_facts.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from numbers.models import NumberDay, NumberMonth
from numbers.services.fact_tables import (
    DAY_FIELDS,
    FACT_FIELDS,
    Changes,
    Facts,
    FactTable,
    add_changes,
)
from numbers.services.label_facts import add_to_labels, lock_label_facts
from portal.models import ProviderAccount

NUMBER_DAYS = FactTable(NumberDay, "number", "day", DAY_FIELDS)
NUMBER_MONTHS = FactTable(NumberMonth, "number", "month", FACT_FIELDS)


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
        with transaction.atomic():
            lock_label_facts(self.account.provider_id)
            add_changes(self.account, NUMBER_DAYS, self.days)
            add_changes(self.account, NUMBER_MONTHS, self.months)
            add_to_labels(self.account, self.months)
        self.days, self.months = {}, {}


def local_day(moment: datetime) -> date:
    return timezone.localdate(moment, timezone.get_default_timezone())
