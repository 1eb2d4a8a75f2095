"""Releasing a number: the provider lets it go first, then the portal marks it released.

The row changes only after the provider confirmed; an upstream error leaves it as it was.
A release the provider may have applied without answering (AmbiguousResult) also leaves
it: the next sync reads the upstream listing and marks it released if it is gone.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from numbers.models import PhoneNumber
from portal.models import AuditEvent
from portal.providers import adapter_for
from portal.providers.phone import normalize_e164
from portal.services.audit import record_audit_event


def typed_number_matches(phone_number: PhoneNumber, typed: str) -> bool:
    """Whether what someone typed is this number, in any format that normalises to it
    (`+1 415-555-0100`, `(415) 555-0100` for a US number, `14155550100`)."""
    try:
        return normalize_e164(typed, phone_number.country or None) == phone_number.number
    except ValidationError:
        return False


def ensure_releasable(phone_number: PhoneNumber) -> None:
    if phone_number.status == PhoneNumber.Status.RELEASED:
        raise ValidationError("This number has already been released.")


def release_number(phone_number: PhoneNumber, *, actor) -> PhoneNumber:
    """Release the number upstream, then mark it released now, and audit it.

    Raises ValidationError when it is already released, and the adapter's UpstreamError
    when the provider refuses or cannot be reached."""
    ensure_releasable(phone_number)
    with adapter_for(phone_number.account) as adapter:
        adapter.release(phone_number.upstream_record())
    before = {"status": phone_number.status, "released_at": None}
    phone_number.status = PhoneNumber.Status.RELEASED
    phone_number.released_at = timezone.now()
    phone_number.save(update_fields=["status", "released_at", "updated_at"])
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.RELEASE,
        obj=phone_number,
        before=before,
        after={"status": phone_number.status, "released_at": phone_number.released_at},
    )
    return phone_number
