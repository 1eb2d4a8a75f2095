"""Setting a number's label: at the provider where it stores labels, else in the portal.

`label` is the portal's own label (sync never overwrites it); `upstream_label` mirrors the
provider's. A provider that stores labels (its adapter declares UPDATE_LABEL) gets the new
label first, and the portal changes only once the provider said yes, so a failed push
loses nothing. Elsewhere the label lives in the portal alone and the upstream is untouched.
"""

from __future__ import annotations

import unicodedata
from contextlib import nullcontext
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from numbers.models import PhoneNumber
from numbers.services.label_facts import lock_label_facts, move_labels, shown_label
from portal.models import AuditEvent
from portal.providers import adapter_for
from portal.providers.capabilities import Capability
from portal.services.audit import record_audit_event

LABEL_MAX_LENGTH = PhoneNumber._meta.get_field("label").max_length


@dataclass(frozen=True)
class LabelChange:
    phone_number: PhoneNumber
    changed: bool
    at_provider: bool  # False: kept in the portal, the provider has no labels


def labels_stored_upstream(phone_number: PhoneNumber) -> bool:
    return phone_number.provider.supports(Capability.UPDATE_LABEL)


def clean_label(raw: str) -> str:
    """The label as stored: surrounding whitespace dropped, one line, within the limit.
    An empty label clears it."""
    label = (raw or "").strip()
    if any(unicodedata.category(character) == "Cc" for character in label):
        raise ValidationError("A label is one line of text, without tabs or line breaks.")
    if len(label) > LABEL_MAX_LENGTH:
        raise ValidationError(
            "A label has at most %(limit)d characters (this one has %(length)d).",
            params={"limit": LABEL_MAX_LENGTH, "length": len(label)},
        )
    return label


def ensure_labellable(phone_number: PhoneNumber) -> None:
    if phone_number.status == PhoneNumber.Status.RELEASED:
        raise ValidationError("This number has been released; it can no longer be labelled.")


def set_label(
    phone_number: PhoneNumber, raw_label: str, *, actor, adapter=None, tags=None
) -> LabelChange:
    """Give the number `raw_label` (cleaned by `clean_label`) and audit the change;
    `adapter`, the account's, when the caller has one open (a bulk change). With `tags`
    (the admin's edit of one number), the number's tags become those, audited with the
    label as one event.

    Raises ValidationError for a label or number the portal refuses, and the adapter's
    UpstreamError when the provider refuses or cannot be reached; the row is then as it
    was."""
    label = clean_label(raw_label)
    at_provider = labels_stored_upstream(phone_number)
    # The row is locked and read again for the whole change, upstream call included: two
    # edits at once then run one after the other, each `before` is what the other left,
    # and the provider ends with the label the portal shows (the last write wins).
    with transaction.atomic():
        # The label facts' lock before the row's, in the order the syncs take them (the
        # call sync holds its share of the lock while it stamps numbers' last calls), so
        # the two wait on each other, never deadlock. Held through the upstream call.
        lock_label_facts(phone_number.provider_id, exclusive=True)
        current = PhoneNumber.objects.select_for_update().get(pk=phone_number.pk)
        phone_number.label, phone_number.upstream_label = current.label, current.upstream_label
        label_unchanged = label == phone_number.label and (
            not at_provider or label == phone_number.upstream_label
        )
        if tags is None or not label_unchanged:
            # Tags are the portal's alone: a released number may still be tagged.
            ensure_labellable(phone_number)
        before, after = {}, {}
        if not label_unchanged:
            before, after = _change_label(phone_number, label, at_provider, adapter)
        if tags is not None:
            names = {"before": _tag_names(phone_number.tags.all()), "after": _tag_names(tags)}
            if names["before"] != names["after"]:
                phone_number.tags.set(tags)
                before["tags"], after["tags"] = names["before"], names["after"]
        if not before:
            return LabelChange(phone_number, changed=False, at_provider=at_provider)
        record_audit_event(
            actor=actor,
            action=AuditEvent.Action.LABEL,
            obj=phone_number,
            before=before,
            after=after,
        )
    return LabelChange(phone_number, changed=True, at_provider=at_provider)


def _change_label(phone_number, label: str, at_provider: bool, adapter) -> tuple[dict, dict]:
    """Store `label`, at the provider first where it keeps labels; (before, after)."""
    before = {"label": phone_number.label}
    shown_before = shown_label(phone_number.label, phone_number.upstream_label)
    fields = ["label", "updated_at"]
    if at_provider:
        before["upstream_label"] = phone_number.upstream_label
        with nullcontext(adapter) if adapter else adapter_for(phone_number.account) as upstream:
            updated = upstream.update_label(phone_number.upstream_record(), label)
        phone_number.upstream_label = updated.label[:LABEL_MAX_LENGTH]
        fields.append("upstream_label")
    phone_number.label = label
    phone_number.save(update_fields=fields)
    move_labels(
        phone_number.provider_id,
        {phone_number.number: (shown_before, shown_label(label, phone_number.upstream_label))},
    )
    return before, {name: getattr(phone_number, name) for name in before}


def _tag_names(tags) -> list[str]:
    return sorted(tag.name for tag in tags)
