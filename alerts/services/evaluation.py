"""Evaluating the rules: an alert opens once when its condition becomes true, clears when
it becomes false (and so re-arms), and reminds every `remind_every` while it stays open,
unacknowledged and not snoozed.

Two workers evaluating at once notify once, by the database alone: an alert is opened by
an insert that the unique open-alert constraint lets through once (the loser's
IntegrityError means another worker opened it, and it sends nothing), and a reminder round
is claimed by a conditional update of the alert (only the worker whose update matched
sends it). Each notification is a Delivery row per recipient and webhook, written in the
same transaction, and handed to the task workers once that has committed.

An evaluation never raises: a rule that fails is logged and the others are evaluated."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts import tasks  # the module, not its names: alerts.tasks imports this one
from alerts.conditions import CONDITIONS, PORTAL_WIDE, Finding
from alerts.models import Alert, Delivery, Rule
from alerts.selectors.subscriptions import recipients
from alerts.services.delivery import WAITING
from portal.models import ProviderAccount

logger = logging.getLogger("alerts.evaluation")

SUMMARY_CHARS = Alert._meta.get_field("summary").max_length
# A delivery still waiting this long after it was due was lost by the workers (one died,
# or its task was never queued): the schedule queues it again.
STALLED_AFTER = timedelta(minutes=5)


@dataclass
class Evaluation:
    """What one evaluation did."""

    opened: int = 0
    reminded: int = 0
    cleared: int = 0
    failed: list[str] = field(default_factory=list)  # the rules that could not be evaluated

    def __str__(self):
        text = f"{self.opened} opened, {self.reminded} reminded, {self.cleared} cleared"
        return text + (f", failed: {', '.join(self.failed)}" if self.failed else "")


def evaluate_rules(
    *, account: ProviderAccount | None = None, now: datetime | None = None
) -> Evaluation:
    """Evaluate every rule, for one account (after its sync) or for the whole portal (the
    schedule, which also clears the open alerts of rules switched off)."""
    now = now or timezone.now()
    evaluation = Evaluation()
    for rule in Rule.objects.all():
        if account is not None and (rule.kind in PORTAL_WIDE or not rule.is_active):
            continue
        try:
            evaluate_rule(rule, account=account, now=now, evaluation=evaluation)
        except Exception:
            logger.exception("evaluating rule %s (%s) failed", rule.pk, rule.kind)
            evaluation.failed.append(rule.name)
    return evaluation


def evaluate_rule(
    rule: Rule,
    *,
    account: ProviderAccount | None = None,
    now: datetime,
    evaluation: Evaluation | None = None,
) -> Evaluation:
    evaluation = evaluation if evaluation is not None else Evaluation()
    open_alerts = Alert.objects.filter(rule=rule, cleared_at__isnull=True).select_related("rule")
    if account is not None:
        open_alerts = open_alerts.filter(account=account)
    open_by_subject = {alert.subject: alert for alert in open_alerts}
    findings = CONDITIONS[rule.kind](rule, now=now, account=account) if rule.is_active else []
    for finding in findings:
        alert = open_by_subject.pop(finding.subject, None)
        if alert is None:
            evaluation.opened += open_alert(rule, finding, now=now) is not None
            continue
        _keep_figures_current(alert, finding)
        evaluation.reminded += remind(alert, now=now)
    # What is open and no longer true has cleared: the next time it is true, it fires anew.
    # Not an alert opened after `now`: this evaluation's view of the data is older than it.
    for alert in open_by_subject.values():
        evaluation.cleared += bool(
            Alert.objects.filter(pk=alert.pk, cleared_at__isnull=True, opened_at__lte=now).update(
                cleared_at=now
            )
        )
    return evaluation


def open_alert(rule: Rule, finding: Finding, *, now: datetime) -> Alert | None:
    """Open the alert and write its first round of deliveries; None when another worker
    opened it first (it notifies, this one does not)."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                subject=finding.subject,
                account=finding.account,
                summary=finding.summary[:SUMMARY_CHARS],
                facts=finding.facts,
                opened_at=now,
                notified_round=0,
                last_notified_at=now,
            )
            deliveries = fan_out(alert, round=0)
    except IntegrityError:
        return None
    hand_to_workers(deliveries)
    return alert


def remind(alert: Alert, *, now: datetime) -> bool:
    """Send the next round of the open alert when it is due: `remind_every` after the last,
    unless someone acknowledged it or it is snoozed. The round is claimed by a conditional
    update, so of two workers only one sends it."""
    every = alert.rule.remind_every
    if not every:
        return False
    cutoff = now - every
    with transaction.atomic():
        claimed = (
            Alert.objects.filter(
                pk=alert.pk,
                cleared_at__isnull=True,
                acknowledged_at__isnull=True,
                notified_round=alert.notified_round,
            )
            .filter(
                Q(last_notified_at__lte=cutoff)
                | Q(last_notified_at__isnull=True, opened_at__lte=cutoff)
            )
            .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
            .update(notified_round=F("notified_round") + 1, last_notified_at=now)
        )
        if not claimed:
            return False
        alert.refresh_from_db()
        deliveries = fan_out(alert, round=alert.notified_round)
    hand_to_workers(deliveries)
    return True


def fan_out(alert: Alert, *, round: int) -> list[Delivery]:
    """One delivery per recipient (an e-mail, to the address they have now) and per active
    webhook endpoint that receives the rule."""
    rule = alert.rule
    rows = [
        Delivery(
            alert=alert,
            round=round,
            channel=Delivery.Channel.EMAIL,
            recipient=user,
            address=user.email,
        )
        for user in recipients(rule)
    ]
    rows += [
        Delivery(alert=alert, round=round, channel=Delivery.Channel.WEBHOOK, webhook=endpoint)
        for endpoint in rule.webhooks.filter(is_active=True).order_by("pk")
    ]
    return Delivery.objects.bulk_create(rows)


def hand_to_workers(deliveries: list[Delivery]) -> None:
    """Queue the deliveries once the transaction that wrote them has committed (a worker
    could not see them before). A delivery that could not be queued waits for the
    schedule's `requeue_stalled`."""

    def queue():
        for delivery in deliveries:
            try:
                tasks.queue_delivery(delivery)
            except Exception:
                logger.exception("delivery %s could not be queued", delivery.pk)

    transaction.on_commit(queue)


def requeue_stalled(*, now: datetime | None = None) -> int:
    """Queue again the deliveries still waiting well after they were due (a worker died
    holding them, or their task was lost). Sending stays once: each attempt is claimed."""
    now = now or timezone.now()
    cutoff = now - STALLED_AFTER
    stalled = Delivery.objects.filter(state__in=WAITING).filter(
        Q(next_attempt_at__isnull=True, created_at__lte=cutoff) | Q(next_attempt_at__lte=cutoff)
    )
    count = 0
    for delivery in stalled.order_by("pk").iterator():
        tasks.queue_delivery(delivery)
        count += 1
    return count


def _keep_figures_current(alert: Alert, finding: Finding) -> None:
    """An open alert shows the figures of the last evaluation (a reminder, the latest)."""
    summary = finding.summary[:SUMMARY_CHARS]
    if alert.summary == summary and alert.facts == finding.facts:
        return
    Alert.objects.filter(pk=alert.pk, cleared_at__isnull=True).update(
        summary=summary, facts=finding.facts
    )
    alert.summary, alert.facts = summary, finding.facts
