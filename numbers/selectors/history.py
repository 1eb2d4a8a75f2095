"""A number's history from the audit log: events on the number and on its orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.dateparse import parse_datetime

from numbers.models import NumberOrder, PhoneNumber
from portal.models import AuditEvent

HISTORY_LENGTH = 50


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    changes: list[Change]
    # False for an event that records facts rather than a change (a purchase): its
    # values read as "field: value", not "(empty) → value".
    has_before: bool


def number_history(phone_number: PhoneNumber, limit: int = HISTORY_LENGTH) -> list[HistoryEntry]:
    """The newest `limit` audit events of the number and its orders (a purchase may be
    recorded against either), with who, what and when, and each changed field's before
    and after as text. One query."""
    order_ids = (
        NumberOrder.objects.filter(phone_number=phone_number)
        .annotate(text_id=Cast("pk", CharField()))
        .values("text_id")
    )
    types = ContentType.objects.get_for_models(PhoneNumber, NumberOrder)
    events = (
        AuditEvent.objects.filter(
            Q(content_type=types[PhoneNumber], object_id=phone_number.pk)
            | Q(content_type=types[NumberOrder], object_id__in=order_ids)
        )
        .select_related("actor")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        HistoryEntry(event, _changes(event.before, event.after), has_before=bool(event.before))
        for event in events
    ]


def _changes(before, after) -> list[Change]:
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    names = [*before, *(name for name in after if name not in before)]
    return [
        Change(_field_name(name), _text(before.get(name)), _text(after.get(name)))
        for name in names
        if before.get(name) != after.get(name)
    ]


def _field_name(name: str) -> str:
    try:
        return str(PhoneNumber._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name.replace("_", " ")


def _text(value) -> str:
    """A stored value as staff read it: ISO dates as local "Y-m-d H:i", nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        moment = _as_datetime(value)
        if moment is None:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return format_date(moment, "Y-m-d H:i")
    return str(value)


def _as_datetime(text: str) -> datetime | None:
    """The moment an ISO 8601 date and time (as DjangoJSONEncoder writes one) names."""
    if len(text) < 16 or text[10:11] != "T":
        return None
    try:
        return parse_datetime(text)
    except ValueError:
        return None
