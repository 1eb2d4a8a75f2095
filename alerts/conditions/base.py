"""What a condition reports: each subject it holds true for now, with a one-line summary and
the figures behind it (strings, as the messages show them and webhooks send them).

A condition that cannot know (no balance read yet, no threshold or budget set, a currency
that does not match) reports nothing: unknown never fires."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from portal.models import ProviderAccount
from portal.money import shown_amount


@dataclass(frozen=True)
class Finding:
    subject: str  # "account:<id>", "order:<id>", "portal:…": one open alert per rule and subject
    summary: str
    facts: dict[str, str] = field(default_factory=dict)
    account: ProviderAccount | None = None


def account_subject(account: ProviderAccount) -> str:
    return f"account:{account.pk}"


def amount_fact(amount: Decimal) -> str:
    """An amount as facts hold it: a plain decimal with the places pages show (12.50)."""
    return str(shown_amount(amount))


def when_fact(moment: datetime | date | None) -> str:
    return "" if moment is None else moment.isoformat()
