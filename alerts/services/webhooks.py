"""Webhook channels: added, changed, their secret rotated, disabled or deleted, and tested.

Every change is an AuditEvent (Alert settings change) with what changed before and after;
the secret appears there only as "set" or "changed". A secret is generated here, never
typed: `create_webhook` and `rotate_webhook_secret` hand it back once, for the page that
shows it to the admin that one time.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, Delivery, Rule, WebhookEndpoint
from alerts.services.delivery import attempt_delivery
from portal.models import AuditEvent
from portal.services.audit import record_audit_event

# 32 random bytes, URL-safe: 43 characters, pasted into the receiver's configuration.
SECRET_BYTES = 32
FIELDS = ("name", "url", "format", "is_active")


class NoRuleToTest(Exception):
    """A test is an alert of some rule, and there is none."""


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def _settings_of(endpoint: WebhookEndpoint) -> dict:
    """The endpoint's settings as the audit log keeps them (never the secret)."""
    return {
        **{name: getattr(endpoint, name) for name in FIELDS},
        "rules": sorted(rule.name for rule in endpoint.rules.all()),
    }


def _audit(endpoint, *, actor, before, after) -> None:
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.ALERT_SETTINGS,
        obj=endpoint,
        before=before,
        after=after,
    )


@transaction.atomic
def create_webhook(
    *, name: str, url: str, format: str, rules, is_active: bool = True, actor
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint with a new secret; returns both (the secret to show once)."""
    secret = new_secret()
    endpoint = WebhookEndpoint(name=name, url=url, format=format, is_active=is_active)
    endpoint.secret = secret
    endpoint.full_clean()
    endpoint.save()
    endpoint.rules.set(rules)
    _audit(endpoint, actor=actor, before=None, after={**_settings_of(endpoint), "secret": "set"})
    return endpoint, secret


@transaction.atomic
def update_webhook(
    *, endpoint: WebhookEndpoint, name: str, url: str, format: str, rules, is_active: bool, actor
) -> bool:
    """Save the endpoint's settings; whether anything changed (only then is it audited)."""
    before = _settings_of(endpoint)
    endpoint.name, endpoint.url, endpoint.format, endpoint.is_active = (
        name,
        url,
        format,
        is_active,
    )
    endpoint.full_clean(exclude=["secret"])
    endpoint.save(update_fields=list(FIELDS))
    endpoint.rules.set(rules)
    after = _settings_of(endpoint)
    changed = [key for key in after if after[key] != before[key]]
    if not changed:
        return False
    _audit(
        endpoint,
        actor=actor,
        before={key: before[key] for key in changed},
        after={key: after[key] for key in changed},
    )
    return True


@transaction.atomic
def rotate_webhook_secret(*, endpoint: WebhookEndpoint, actor) -> str:
    """Replace the secret; returns the new one (to show once). Requests already waiting
    for a retry are signed with it from their next attempt on."""
    secret = new_secret()
    endpoint.secret = secret
    endpoint.save(update_fields=["secret"])
    _audit(endpoint, actor=actor, before={"secret": "set"}, after={"secret": "changed"})
    return secret


@transaction.atomic
def set_webhook_active(*, endpoint: WebhookEndpoint, active: bool, actor) -> bool:
    """Enable or disable the endpoint; whether that changed it. A disabled endpoint gets
    nothing: deliveries still waiting for it fail at their next attempt."""
    if endpoint.is_active == active:
        return False
    endpoint.is_active = active
    endpoint.save(update_fields=["is_active"])
    _audit(endpoint, actor=actor, before={"is_active": not active}, after={"is_active": active})
    return True


@transaction.atomic
def delete_webhook(*, endpoint: WebhookEndpoint, actor) -> None:
    """Delete the endpoint, audited first while it still has its id. Its deliveries stay in
    the history, without the channel."""
    _audit(
        endpoint,
        actor=actor,
        before={**_settings_of(endpoint), "secret": "set"},
        after={"deleted": True},
    )
    endpoint.delete()


def send_test(*, endpoint: WebhookEndpoint, actor) -> Delivery:
    """Send the endpoint a test at once, through the same code path as an alert's (a
    Delivery of an alert, its attempt logged), and return the delivery with its outcome.

    The test's alert is opened and cleared at once, so it is never one that is open; it
    belongs to a rule the endpoint receives (any rule, if it receives none yet). A test is
    tried once: a failure is shown to the admin, who can send another, not retried later."""
    rule = endpoint.rules.order_by("pk").first() or Rule.objects.order_by("pk").first()
    if rule is None:
        raise NoRuleToTest("There is no alert rule to send a test of: add a rule first.")
    now = timezone.now()
    who = actor.get_username() if actor is not None else "the portal"
    with transaction.atomic():
        alert = Alert.objects.create(
            rule=rule,
            subject=Alert.TEST_SUBJECT,
            summary=f"A test of the channel {endpoint.name}, sent by {who}.",
            facts={"channel": endpoint.name, "sent by": who},
            opened_at=now,
            cleared_at=now,
        )
        delivery = Delivery.objects.create(
            alert=alert, channel=Delivery.Channel.WEBHOOK, webhook=endpoint
        )
    attempt_delivery(delivery.pk, now=now)
    Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.RETRYING).update(
        state=Delivery.State.FAILED, next_attempt_at=None
    )
    delivery.refresh_from_db()
    return delivery
