"""What a webhook receives about an alert: the portal's documented JSON, or Slack's incoming
webhook format (README, "Alerts: webhooks"). Built from the alert alone: no secret (the
endpoint's, a provider credential) is anywhere in reach of these functions.
"""

from __future__ import annotations

import json

from django.urls import reverse
from django.utils import timezone

from alerts.links import absolute
from alerts.models import Alert, Delivery, WebhookEndpoint

FIRED = "alert.fired"
REMINDER = "alert.reminder"
TEST = "alert.test"

# Where the alert is shown in the portal (the history of alerts).
# Slack shows at most ten fields in a section.
SLACK_FIELDS = 10


def event_of(delivery: Delivery) -> str:
    if delivery.alert.subject == Alert.TEST_SUBJECT:
        return TEST
    return REMINDER if delivery.round else FIRED


def portal_link() -> str:
    return absolute(reverse("alerts:history"))


def _time(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def json_body(delivery: Delivery) -> dict:
    """The portal's own format: one object per request, the alert nested in it."""
    alert = delivery.alert
    account = alert.account
    return {
        "event": event_of(delivery),
        "delivery": str(delivery.pk),
        "alert": {
            "id": alert.pk,
            "rule": {"id": alert.rule.pk, "kind": alert.rule.kind, "name": alert.rule.name},
            "subject": alert.subject,
            "account": None
            if account is None
            else {"id": account.pk, "name": account.name, "provider": account.provider.name},
            "summary": alert.summary,
            "facts": alert.facts,
            "opened_at": _time(alert.opened_at),
            "cleared_at": _time(alert.cleared_at),
            "reminder": delivery.round,
            "url": portal_link(),
        },
    }


def _slack_escaped(text: str) -> str:
    """Slack reads &, < and > as markup (links, mentions): written as its entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(delivery: Delivery) -> str:
    alert = delivery.alert
    event = event_of(delivery)
    summary = _slack_escaped(alert.summary)
    rule = _slack_escaped(alert.rule.name)
    if event == TEST:
        return f":white_check_mark: *Number portal test*: {summary}"
    if event == REMINDER:
        opened = timezone.localtime(alert.opened_at).strftime("%Y-%m-%d %H:%M %Z")
        return f":bell: *Reminder: {rule}* (open since {opened}): {summary}"
    return f":rotating_light: *{rule}*: {summary}"


def slack_body(delivery: Delivery) -> dict:
    """Slack's incoming-webhook message: `text` (what notifications show) and the same in
    blocks, with the alert's figures as fields and a link to the portal."""
    alert = delivery.alert
    text = slack_text(delivery)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    facts = list(alert.facts.items())[:SLACK_FIELDS]
    if facts:
        fields = [
            {"type": "mrkdwn", "text": f"*{_slack_escaped(name)}*\n{_slack_escaped(value)}"}
            for name, value in ((str(name), str(value)) for name, value in facts)
        ]
        blocks.append({"type": "section", "fields": fields})
    where = f"<{portal_link()}|Open in the Number portal>"
    if alert.account is not None:
        account = alert.account
        where += f" · {_slack_escaped(account.provider.name)} · {_slack_escaped(account.name)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": where}]})
    return {"text": text, "blocks": blocks}


BODIES = {WebhookEndpoint.Format.JSON: json_body, WebhookEndpoint.Format.SLACK: slack_body}


def body_bytes(delivery: Delivery, format: str) -> bytes:
    """The request body as sent and signed: compact UTF-8 JSON."""
    body = BODIES[format](delivery)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
