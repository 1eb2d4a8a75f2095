"""Labels and tags for many numbers at once.

Bulk changes are the portal's own: the `label` field and tags, never the provider's label,
so nothing is sent upstream. Work goes in batches of a fixed number of queries, however many
numbers match, and every number that changes gets its own audit event.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from numbers.models import PhoneNumber, Tag
from numbers.services import batched
from portal.models import AuditEvent

BATCH_SIZE = 500
TAG_NAME_MAX_LENGTH = Tag._meta.get_field("name").max_length
MAX_TAGS_PER_CHANGE = 20

Tagging = PhoneNumber.tags.through


class TagAction(models.TextChoices):
    ADD = "add", "Add tags"
    REMOVE = "remove", "Remove tags"
    REPLACE = "replace", "Replace tags with"


@dataclass(frozen=True)
class BulkChange:
    """What to do to each number. `label` None leaves labels alone ("" clears them);
    `tag_action` None leaves tags alone."""

    label: str | None = None
    tag_action: TagAction | None = None
    tag_names: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.label is None and self.tag_action is None


@dataclass(frozen=True)
class BulkResult:
    matched: int
    changed: int


def _one_line(text: str, what: str) -> str:
    text = text.strip()
    if any(unicodedata.category(character) == "Cc" for character in text):
        raise ValidationError(f"{what} is one line of text, without tabs or line breaks.")
    return text


def parse_tag_names(raw: str) -> tuple[str, ...]:
    """`"vip, acme ,vip"` → `("vip", "acme")`: comma-separated names, trimmed, each once."""
    names = []
    for part in (raw or "").split(","):
        name = _one_line(part, "A tag")
        if not name or name in names:
            continue
        if len(name) > TAG_NAME_MAX_LENGTH:
            raise ValidationError(
                "“%(name)s…” is too long: a tag has at most %(limit)d characters.",
                params={"name": name[:20], "limit": TAG_NAME_MAX_LENGTH},
            )
        names.append(name)
    if len(names) > MAX_TAGS_PER_CHANGE:
        raise ValidationError(f"At most {MAX_TAGS_PER_CHANGE} tags at a time.")
    return tuple(names)


@transaction.atomic
def apply_bulk_change(numbers: QuerySet[PhoneNumber], change: BulkChange, *, actor) -> BulkResult:
    """Apply `change` to every number in `numbers`, all or nothing. Numbers already as
    asked are left untouched and get no audit event."""
    ids = sorted(set(numbers.values_list("pk", flat=True)))
    tags = _tags_for(change)
    now = timezone.now()
    changed = sum(
        _apply_to_batch(batch, change, tags, actor=actor, now=now)
        for batch in batched(ids, BATCH_SIZE)
    )
    return BulkResult(matched=len(ids), changed=changed)


def _tags_for(change: BulkChange) -> dict[str, Tag]:
    """The tags the change names by name, created when the change gives them to numbers."""
    names = list(change.tag_names)
    if change.tag_action in (TagAction.ADD, TagAction.REPLACE) and names:
        Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    return {tag.name: tag for tag in Tag.objects.filter(name__in=names)}


def _new_tag_ids(current: set[int], change: BulkChange, tags: dict[str, Tag]) -> set[int]:
    named = {tag.pk for tag in tags.values()}
    if change.tag_action == TagAction.ADD:
        return current | named
    if change.tag_action == TagAction.REMOVE:
        return current - named
    if change.tag_action == TagAction.REPLACE:
        return named
    return current


def _apply_to_batch(ids, change: BulkChange, tags: dict[str, Tag], *, actor, now) -> int:
    """Change one batch in a fixed number of queries; return how many numbers changed."""
    rows = PhoneNumber.objects.filter(pk__in=ids).values_list("pk", "number", "label")
    current_tags: dict[int, set[int]] = defaultdict(set)
    tag_names = {tag.pk: tag.name for tag in tags.values()}
    for number_id, tag_id, name in Tagging.objects.filter(phonenumber_id__in=ids).values_list(
        "phonenumber_id", "tag_id", "tag__name"
    ):
        current_tags[number_id].add(tag_id)
        tag_names[tag_id] = name

    relabelled, retagged, added, events = [], [], [], []
    content_type = ContentType.objects.get_for_model(PhoneNumber)
    for pk, number, label in rows:
        before, after = {}, {}
        if change.label is not None and change.label != label:
            before["label"], after["label"] = label, change.label
            relabelled.append(pk)
        old_tags = current_tags[pk]
        new_tags = _new_tag_ids(old_tags, change, tags)
        if new_tags != old_tags:
            before["tags"] = sorted(tag_names[tag_id] for tag_id in old_tags)
            after["tags"] = sorted(tag_names[tag_id] for tag_id in new_tags)
            retagged.append(pk)
            added += [Tagging(phonenumber_id=pk, tag_id=tag_id) for tag_id in new_tags - old_tags]
        if before:
            events.append(
                AuditEvent(
                    actor=actor if actor is not None and actor.is_authenticated else None,
                    action=AuditEvent.Action.LABEL,
                    content_type=content_type,
                    object_id=str(pk),
                    object_repr=number,
                    before=before,
                    after=after,
                    created_at=now,
                )
            )

    if relabelled:
        PhoneNumber.objects.filter(pk__in=relabelled).update(label=change.label, updated_at=now)
    retagged_only = sorted(set(retagged) - set(relabelled))
    if retagged_only:
        PhoneNumber.objects.filter(pk__in=retagged_only).update(updated_at=now)
    named = [tag.pk for tag in tags.values()]
    if retagged and change.tag_action == TagAction.REMOVE:
        Tagging.objects.filter(phonenumber_id__in=retagged, tag_id__in=named).delete()
    elif retagged and change.tag_action == TagAction.REPLACE:
        Tagging.objects.filter(phonenumber_id__in=retagged).exclude(tag_id__in=named).delete()
    Tagging.objects.bulk_create(added)
    AuditEvent.objects.bulk_create(events)
    return len(events)
