"""What every adapter's `iter_calls` and `price_calls` share: the window a call must fall
in, the parties as published, seconds as published, and a price's parts as text."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from portal.providers.parsing import Reader, to_e164


def aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def in_window(started: datetime, since: datetime | None, until: datetime) -> bool:
    """[since, until): an upstream that filters coarsely (by day, inclusively) or not at
    all is filtered again here, so windows read one after the other never overlap."""
    return (since is None or started >= since) and started < until


def unix_floor(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def unix_ceil(moment: datetime) -> int:
    return math.ceil(moment.timestamp())


def party(reader: Reader, *keys: str) -> str:
    """A caller or callee: E.164 where the value is a phone number, else the value as
    published (a SIP user, an extension), "" where it is missing or null."""
    for key in keys:
        if reader.has(key):
            value = reader.str(key)
            try:
                return to_e164(value)
            except TypeError:
                return value.strip()
    return ""


def seconds(reader: Reader, *keys: str, default: int | None = 0) -> int | None:
    """Whole seconds, written as an integer or (Kazoo's CDR schema) as digits in text."""
    for key in keys:
        value = reader.raw(key)
        if value is None:
            continue
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return reader.int(key)
    return default


def parts(value: Mapping[str, Any] | None) -> dict[str, str]:
    """A published breakdown kept as text: amounts as exact decimal strings (never via
    float), words and flags as written; nested objects are left out."""
    kept: dict[str, str] = {}
    for key, item in (value or {}).items():
        if isinstance(item, bool):
            kept[str(key)] = "true" if item else "false"
        elif isinstance(item, int | Decimal):
            kept[str(key)] = str(item)
        elif isinstance(item, str):
            kept[str(key)] = item
    return kept
