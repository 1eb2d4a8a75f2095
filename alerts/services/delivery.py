"""Sending a delivery, one attempt at a time, each attempt logged.

An attempt is claimed by a conditional update (the delivery still waiting and due), so two
workers handed the same delivery send it once; a claim holds it for CLAIM_SECONDS, after which
a worker that died mid-send leaves it due again. A failed attempt schedules the next one
after the next of settings.ALERT_RETRY_DELAYS; when they are used up the delivery has failed.
The channels themselves (alerts.channels.*) only send: they raise SendFailed or return Sent.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from alerts.channels.base import SendFailed, Sent, excerpt
from alerts.models import Delivery, DeliveryAttempt

logger = logging.getLogger("alerts.delivery")

SENDERS = {
    Delivery.Channel.EMAIL: "alerts.channels.email.send",
    Delivery.Channel.WEBHOOK: "alerts.channels.webhook.send",
}

# Longer than any channel's own timeout: a claim outlives the attempt it covers.
CLAIM_SECONDS = 120

WAITING = (Delivery.State.PENDING, Delivery.State.RETRYING)


def due_deliveries(*, now: datetime | None = None):
    """Deliveries waiting whose time has come (or whose claim a dead worker left)."""
    now = now or timezone.now()
    return Delivery.objects.filter(state__in=WAITING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def attempt_delivery(delivery_id: int, *, now: datetime | None = None) -> Delivery | None:
    """Try to send the delivery once, if it is still waiting and due; returns it as it then
    is, or None when there was nothing to do (sent, failed, or another worker has it)."""
    now = now or timezone.now()
    claimed = due_deliveries(now=now).filter(pk=delivery_id)
    if not claimed.update(
        next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1
    ):
        return None
    delivery = Delivery.objects.select_related("alert__rule", "alert__account", "webhook").get(
        pk=delivery_id
    )
    started = time.monotonic()
    try:
        sent = import_string(SENDERS[delivery.channel])(delivery)
    except SendFailed as exc:
        _record(delivery, now, started, ok=False, status_code=exc.status_code, text=str(exc))
        return _schedule_retry(delivery, now, final=exc.final)
    except Exception as exc:  # a bug in a channel: logged, retried, never lost
        logger.exception("delivery %s failed unexpectedly", delivery.pk)
        _record(delivery, now, started, ok=False, status_code=None, text=type(exc).__name__)
        return _schedule_retry(delivery, now)
    _record(delivery, now, started, ok=True, status_code=sent.status_code, text=sent.excerpt)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.SENT, sent_at=timezone.now(), next_attempt_at=None
    )
    delivery.refresh_from_db()
    return delivery


def _record(delivery, at, started, *, ok, status_code, text):
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=at,
        ok=ok,
        status_code=status_code,
        duration_ms=round((time.monotonic() - started) * 1000),
        excerpt=excerpt(text),
    )


def _schedule_retry(delivery: Delivery, now: datetime, *, final: bool = False) -> Delivery:
    delays = settings.ALERT_RETRY_DELAYS
    if final or delivery.attempts > len(delays):
        values = {"state": Delivery.State.FAILED, "next_attempt_at": None}
        logger.warning("delivery %s failed after %s attempts", delivery.pk, delivery.attempts)
    else:
        values = {
            "state": Delivery.State.RETRYING,
            "next_attempt_at": now + delays[delivery.attempts - 1],
        }
    Delivery.objects.filter(pk=delivery.pk).update(**values)
    delivery.refresh_from_db()
    return delivery


__all__ = ["SendFailed", "Sent", "attempt_delivery", "due_deliveries"]
