"""Labels and tags for many numbers at once.

Tags are the portal's own. A label goes to the provider too where the provider keeps labels
(as the inline edit sends it, numbers.services.labels.set_label), one number at a time, for at most
UPSTREAM_LABEL_LIMIT numbers a change; each says whether its provider took it. Beyond that,
until bulk jobs can send more, labels change in the portal only, and the result says so.
The portal's part goes in batches of a fixed number of queries, however many numbers match,
and every number that changes gets its own audit event.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from numbers.models import PhoneNumber, Tag
from numbers.services.label_facts import lock_label_facts, move_labels, shown_label
from numbers.services.labels import set_label
from numbers.services.sync import batched
from portal.models import AuditEvent, Provider
from portal.providers import adapter_for
from portal.providers.capabilities import Capability
from portal.providers.errors import UpstreamError

BATCH_SIZE = 500
# The most numbers one change sends labels upstream for, one request each, while the person
# waits; beyond it labels change in the portal only (bulk jobs will send more).
UPSTREAM_LABEL_LIMIT = 500
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
class LabelSent:
    """A number whose label was sent to its provider: done, or refused with the error."""

    phone_number: PhoneNumber
    error: UpstreamError | ValidationError | None = None

    @property
    def done(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BulkResult:
    matched: int
    changed: int
    sent: tuple[LabelSent, ...] = ()  # labels sent upstream, one per number, in number order
    # Numbers at providers that keep labels whose label changed in the portal only: too many
    # for one change (UPSTREAM_LABEL_LIMIT), until bulk jobs can send them.
    not_sent: int = 0
    not_sent_providers: tuple[str, ...] = ()
    # Numbers at providers without labels the portal can set, whose label is the portal's.
    portal_only: int = 0


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


def label_providers() -> list[Provider]:
    """The providers that keep labels the portal can set (their adapters say so)."""
    return [
        provider
        for provider in Provider.objects.order_by("name")
        if provider.supports(Capability.UPDATE_LABEL)
    ]


def labelled_upstream(numbers: QuerySet[PhoneNumber]) -> QuerySet[PhoneNumber]:
    """Those of `numbers` whose label a change would send to their provider: held (not
    released) at a provider that keeps labels."""
    return numbers.filter(provider__in=label_providers()).exclude(
        status=PhoneNumber.Status.RELEASED
    )


def apply_bulk_change(numbers: QuerySet[PhoneNumber], change: BulkChange, *, actor) -> BulkResult:
    """Apply `change` to every number in `numbers`. A new label goes first to the providers
    that keep labels (up to UPSTREAM_LABEL_LIMIT numbers), each number on its own: one the
    provider refuses keeps its label. Then the rest, all or nothing in the portal. Numbers
    already as asked are left untouched and get no audit event."""
    ids = sorted(set(numbers.values_list("pk", flat=True)))
    sent, not_sent, providers, portal_only = (), 0, (), 0
    if change.label is not None:
        portal_only = numbers.exclude(provider__in=label_providers()).count()
        upstream = labelled_upstream(numbers)
        if len(ids) <= UPSTREAM_LABEL_LIMIT:
            sent = tuple(_send_labels(upstream, change.label, actor=actor))
        else:
            pending = upstream.exclude(label=change.label, upstream_label=change.label)
            not_sent = pending.count()
            providers = tuple(sorted(set(pending.values_list("provider__name", flat=True))))
    refused = {result.phone_number.pk for result in sent if not result.done}
    changed = _apply_in_portal(ids, change, actor=actor, keep_label=refused)
    changed |= {result.phone_number.pk for result in sent if result.done}
    return BulkResult(
        matched=len(ids),
        changed=len(changed),
        sent=sent,
        not_sent=not_sent,
        not_sent_providers=providers,
        portal_only=portal_only,
    )


def _send_labels(numbers: QuerySet[PhoneNumber], label: str, *, actor) -> list[LabelSent]:
    """Set each number's label at its provider, then in the portal (set_label), through
    one adapter per account. Numbers whose label is already `label` in both are skipped."""
    rows = (
        numbers.exclude(label=label, upstream_label=label)
        .select_related("account__provider", "provider")
        .order_by("account_id", "number")
    )
    sent = []
    for _, account_numbers in groupby(rows, key=lambda number: number.account_id):
        account_numbers = list(account_numbers)
        with adapter_for(account_numbers[0].account) as adapter:
            for phone_number in account_numbers:
                try:
                    set_label(phone_number, label, actor=actor, adapter=adapter)
                except (UpstreamError, ValidationError) as error:
                    sent.append(LabelSent(phone_number, error))
                else:
                    sent.append(LabelSent(phone_number))
    return sorted(sent, key=lambda result: result.phone_number.number)


@transaction.atomic
def _apply_in_portal(ids, change: BulkChange, *, actor, keep_label=frozenset()) -> set[int]:
    """The portal's part of `change` for the numbers `ids`, all or nothing: their tags, and
    their label except for those in `keep_label`. Returns the ids of the numbers changed."""
    if change.label is not None:
        # Before any row is written: the order set_label takes them in (see there).
        providers = PhoneNumber.objects.filter(pk__in=ids).values_list("provider_id", flat=True)
        for provider_id in sorted(set(providers)):
            lock_label_facts(provider_id, exclusive=True)
    tags = _tags_for(change)
    now = timezone.now()
    changed = set()
    for batch in batched(ids, BATCH_SIZE):
        changed |= _apply_to_batch(batch, change, tags, actor=actor, now=now, keep_label=keep_label)
    return changed


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


def _apply_to_batch(
    ids, change: BulkChange, tags: dict[str, Tag], *, actor, now, keep_label
) -> set[int]:
    """Change one batch in a fixed number of queries; return the ids of those changed."""
    rows = PhoneNumber.objects.filter(pk__in=ids).values_list(
        "pk", "number", "label", "upstream_label", "provider_id"
    )
    current_tags: dict[int, set[int]] = defaultdict(set)
    tag_names = {tag.pk: tag.name for tag in tags.values()}
    for number_id, tag_id, name in Tagging.objects.filter(phonenumber_id__in=ids).values_list(
        "phonenumber_id", "tag_id", "tag__name"
    ):
        current_tags[number_id].add(tag_id)
        tag_names[tag_id] = name

    relabelled, retagged, added, events = [], [], [], []
    moves: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
    content_type = ContentType.objects.get_for_model(PhoneNumber)
    for pk, number, label, upstream_label, provider_id in rows:
        before, after = {}, {}
        if change.label is not None and change.label != label and pk not in keep_label:
            before["label"], after["label"] = label, change.label
            relabelled.append(pk)
            moves[provider_id][number] = (
                shown_label(label, upstream_label),
                shown_label(change.label, upstream_label),
            )
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
    for provider_id, provider_moves in moves.items():
        move_labels(provider_id, provider_moves)
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
    return {int(event.object_id) for event in events}
