"""Admins' changes to rules (alerts.views.rules): a rule's settings, and who receives it.
Every change is an AuditEvent (ALERT_SETTINGS) with the values before and after."""

from __future__ import annotations

from django.db import transaction

from alerts.models import Rule
from alerts.selectors.rules import receivers, reminder_in_words
from alerts.services.subscriptions import set_subscription
from portal.models import AuditEvent
from portal.services.audit import record_audit_event

RULE_FIELDS = ("name", "is_active", "days", "hours", "failed_runs", "minutes", "remind_every")


def _audited(name, value):
    """A field's value as the audit log keeps it (JSON, as a person reads it)."""
    if name == "remind_every":
        return reminder_in_words(value)
    return value


def save_rule(*, rule: Rule, values: dict, receivers_chosen: set[int], actor) -> Rule:
    """Create `rule` (unsaved: its kind set) or change it to `values` (of RULE_FIELDS),
    then make `receivers_chosen` (user ids) the users who receive it among those who may.

    Only a user whose ticked box differs from what they receive now gets an explicit choice
    (alerts.services.subscriptions.set_subscription): the others keep following their
    role's default, or the choice they made themselves."""
    with transaction.atomic():
        if rule.pk is None:
            rule = _create(rule, values, actor)
        else:
            _update(rule, values, actor)
        for receiver in receivers([rule])[0]:
            wanted = receiver.user.pk in receivers_chosen
            if wanted != receiver.receives:
                set_subscription(user=receiver.user, rule=rule, subscribed=wanted, actor=actor)
    return rule


def _create(rule: Rule, values: dict, actor) -> Rule:
    for name in RULE_FIELDS:
        setattr(rule, name, values.get(name))
    rule.save()
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.ALERT_SETTINGS,
        obj=rule,
        after={"kind": rule.kind, **{n: _audited(n, getattr(rule, n)) for n in RULE_FIELDS}},
    )
    return rule


def _update(rule: Rule, values: dict, actor) -> bool:
    stored = Rule.objects.select_for_update().get(pk=rule.pk)
    changed = [name for name in RULE_FIELDS if getattr(stored, name) != values.get(name)]
    for name in RULE_FIELDS:
        setattr(rule, name, values.get(name))
    if not changed:
        return False
    Rule.objects.filter(pk=rule.pk).update(**{name: values.get(name) for name in changed})
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.ALERT_SETTINGS,
        obj=rule,
        before={name: _audited(name, getattr(stored, name)) for name in changed},
        after={name: _audited(name, values.get(name)) for name in changed},
    )
    return True
