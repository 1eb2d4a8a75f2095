"""The rules a fresh install alerts on without setup, and who may see alerts: staff of both
roles see the history of what they may see, and acknowledge or snooze it."""

from datetime import timedelta

from django.db import migrations

from portal import roles

DAILY = timedelta(days=1)

# (kind, name, parameters, remind_every)
DEFAULT_RULES = [
    ("low_balance", "Balance below threshold", {}, DAILY),
    ("runway", "Runway under 14 days", {"days": 14}, DAILY),
    ("renewal_at_risk", "Renewals at risk within 7 days", {"days": 7}, timedelta(hours=12)),
    ("spend_over_budget", "Spend above monthly budget", {}, DAILY),
    ("sync_failing", "Sync failing", {"hours": 24, "failed_runs": 3}, DAILY),
    ("unknown_purchases", "Purchases unknown for 30 minutes", {"minutes": 30}, DAILY),
    ("idle_digest", "Idle numbers, weekly digest", {"days": 60}, None),
]

ALERT_VIEWERS = ["alerts.view_alert", "alerts.change_alert"]


def create_defaults(apps, schema_editor):
    Rule = apps.get_model("alerts", "Rule")
    for kind, name, parameters, remind_every in DEFAULT_RULES:
        Rule.objects.get_or_create(
            name=name, defaults={"kind": kind, "remind_every": remind_every, **parameters}
        )
    roles.grant(apps, roles.SUPPORT, ALERT_VIEWERS)
    roles.grant(apps, roles.FINANCE, ALERT_VIEWERS)


def remove_defaults(apps, schema_editor):
    apps.get_model("alerts", "Rule").objects.filter(
        name__in=[name for _, name, _, _ in DEFAULT_RULES]
    ).delete()
    roles.revoke(apps, roles.SUPPORT, ALERT_VIEWERS)
    roles.revoke(apps, roles.FINANCE, ALERT_VIEWERS)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial"), ("portal", "0002_roles")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
