"""The dashboard's open alerts: those the user may see, newest first, each with its summary,
age, acknowledgement or snooze and a link to its page; no panel at all while none is open."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from alerts.models import Rule
from alerts.panels import OPEN_ALERTS_SHOWN
from tests.support.factories import AlertFactory, ProviderAccountFactory

TITLE = "Alerts open now"


def panel_titles(response) -> list[str]:
    return [panel.title for panel in response.context["panels"]]


def open_alerts_panel(response):
    (panel,) = [panel for panel in response.context["panels"] if panel.title == TITLE]
    return panel


def rule(kind):
    return Rule.objects.get(kind=kind)


def test_quiet_while_nothing_is_open(client, finance_user, db):
    ProviderAccountFactory()
    AlertFactory(rule=rule(Rule.Kind.LOW_BALANCE), cleared_at=timezone.now())
    client.force_login(finance_user)
    response = client.get(reverse("dashboard"))
    assert TITLE not in panel_titles(response)
    assert 'data-testid="open-alerts"' not in response.content.decode()


def test_open_alerts_the_user_may_see_with_age_state_and_link(client, finance_user, support_user):
    now = timezone.now()
    low = AlertFactory(
        rule=rule(Rule.Kind.LOW_BALANCE),
        summary="Audian main: balance 12.00 USD below 50.00 USD",
        opened_at=now - timedelta(hours=3),
        acknowledged_at=now,
        acknowledged_by=finance_user,
    )
    budget = AlertFactory(
        rule=rule(Rule.Kind.SPEND_OVER_BUDGET),
        summary="Audian main: spend 612.00 USD this month, above its budget of 500.00 USD",
        opened_at=now - timedelta(minutes=5),
        snoozed_until=now + timedelta(days=1),
    )
    sync = AlertFactory(
        rule=rule(Rule.Kind.SYNC_FAILING),
        summary="Vobiz India: 3 failed syncs in a row",
        opened_at=now - timedelta(days=2),
    )
    AlertFactory(rule=rule(Rule.Kind.LOW_BALANCE), cleared_at=now)

    client.force_login(finance_user)
    response = client.get(reverse("dashboard"))
    assert panel_titles(response)[0] == TITLE
    assert open_alerts_panel(response).context["alerts"] == [budget, low, sync]
    html = response.content.decode()
    assert f'href="{reverse("alerts:detail", args=[low.pk])}"' in html
    assert ">3\xa0hours ago</time>" in html and "acknowledged by fiona-finance" in html
    assert "snoozed until" in html and ">2\xa0days ago</time>" in html
    assert "not acknowledged" in html

    # Support sees the sync alert alone.
    client.force_login(support_user)
    assert open_alerts_panel(client.get(reverse("dashboard"))).context["alerts"] == [sync]


def test_past_the_first_few_the_history_lists_them_all(client, admin_user, db):
    low = rule(Rule.Kind.LOW_BALANCE)
    for _ in range(OPEN_ALERTS_SHOWN + 1):
        AlertFactory(rule=low)
    client.force_login(admin_user)
    response = client.get(reverse("dashboard"))
    panel = open_alerts_panel(response)
    assert len(panel.context["alerts"]) == OPEN_ALERTS_SHOWN and panel.context["more"]
    assert f'href="{reverse("alerts:history")}?state=open">All open alerts' in (
        response.content.decode()
    )


def test_no_panel_for_who_may_not_see_alerts(client, plain_user, db):
    AlertFactory(rule=rule(Rule.Kind.LOW_BALANCE))
    client.force_login(plain_user)
    assert TITLE not in panel_titles(client.get(reverse("dashboard")))
