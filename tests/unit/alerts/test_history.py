"""The alert history: every alert fired and cleared that the user may see (the permission of
its rule's kind), newest first, in pages, filtered by state, rule and account, with who was
told; an alert's page with every delivery and its attempts; the empty state; who may open it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, Delivery, DeliveryAttempt, Rule
from tests.support.factories import (
    AlertFactory,
    DeliveryFactory,
    ProviderAccountFactory,
    RuleFactory,
    UserFactory,
    WebhookEndpointFactory,
)

HTMX_TABLE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "table"}


def shown(response) -> list[Alert]:
    return [row.record for row in response.context["table"].paginated_rows]


@pytest.fixture
def history(db):
    """A low-balance alert open on Audian main (Finance's), one cleared on Vobiz India, and
    a sync-failing one (Support's), opened an hour apart, the newest last in the list."""
    now = timezone.now()
    audian = ProviderAccountFactory(name="Audian main")
    vobiz = ProviderAccountFactory(name="Vobiz India", currency="INR")
    # The default rules (alerts/migrations/0002_default_rules.py).
    balance = Rule.objects.get(kind=Rule.Kind.LOW_BALANCE)
    sync = Rule.objects.get(kind=Rule.Kind.SYNC_FAILING)
    return {
        "open": AlertFactory(
            rule=balance,
            account=audian,
            summary="Audian main: balance 12.00 USD below 50.00 USD",
            opened_at=now - timedelta(hours=1),
        ),
        "cleared": AlertFactory(
            rule=balance,
            account=vobiz,
            summary="Vobiz India: balance 900.00 INR below 5,000.00 INR",
            opened_at=now - timedelta(hours=3),
            cleared_at=now - timedelta(hours=2),
        ),
        "sync": AlertFactory(
            rule=sync,
            account=audian,
            summary="Audian main: no successful sync for 26 hours",
            opened_at=now - timedelta(hours=2),
        ),
    }


def test_support_sees_only_the_alerts_of_rules_it_may_see(client, support_user, history):
    client.force_login(support_user)
    response = client.get(reverse("alerts:history"))
    assert response.status_code == 200
    assert shown(response) == [history["sync"]]
    html = response.content.decode()
    assert "Audian main: no successful sync for 26 hours" in html
    assert "balance 12.00 USD" not in html
    # The rule filter offers only the rules Support may see: not the balance's.
    kinds = {rule.kind for rule in response.context["filter"].form.fields["rule"].queryset}
    assert Rule.Kind.SYNC_FAILING in kinds and Rule.Kind.UNKNOWN_PURCHASES in kinds
    assert Rule.Kind.LOW_BALANCE not in kinds and Rule.Kind.SPEND_OVER_BUDGET not in kinds


def test_finance_and_admins_see_every_alert_newest_first(client, finance_user, admin_user, history):
    # Finance may see balances, spend, syncs, orders and numbers: every kind there is.
    for user in (finance_user, admin_user):
        client.force_login(user)
        assert shown(client.get(reverse("alerts:history"))) == [
            history["open"],
            history["sync"],
            history["cleared"],
        ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "open"}, ["open", "sync"]),
        ({"state": "cleared"}, ["cleared"]),
        ({"rule": "sync"}, ["sync"]),
        ({"account": "vobiz"}, ["cleared"]),
        ({"state": "open", "account": "audian"}, ["open", "sync"]),
        ({}, ["open", "sync", "cleared"]),
    ],
)
def test_filters_narrow_the_history_and_htmx_gets_the_table_alone(
    client, admin_user, history, query, expected
):
    ids = {
        "sync": history["sync"].rule_id,
        "vobiz": history["cleared"].account_id,
        "audian": history["open"].account_id,
    }
    params = {name: ids.get(value, value) for name, value in query.items()}
    client.force_login(admin_user)
    page = client.get(reverse("alerts:history"), params)
    assert shown(page) == [history[name] for name in expected]
    assert "<nav" in page.content.decode()

    fragment = client.get(reverse("alerts:history"), params, **HTMX_TABLE)
    assert shown(fragment) == [history[name] for name in expected]
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="table"') and "<nav" not in html
    assert "HX-Request" in fragment["Vary"]


def test_a_rule_the_user_may_not_see_is_not_a_filter_choice(client, support_user, history):
    client.force_login(support_user)
    response = client.get(reverse("alerts:history"), {"rule": history["open"].rule_id})
    assert response.status_code == 200
    assert shown(response) == []
    assert "Select a valid choice" in response.content.decode()


def test_rows_show_state_times_acknowledgement_snooze_and_who_was_told(client, admin_user, history):
    alert = history["open"]
    later = timezone.now() + timedelta(days=1)
    Alert.objects.filter(pk=alert.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=admin_user, snoozed_until=later
    )
    fiona = UserFactory(username="fiona", email="fiona@example.com")
    DeliveryFactory(alert=alert, recipient=fiona, state=Delivery.State.SENT, attempts=1)
    hook = WebhookEndpointFactory(name="Ops Slack")
    DeliveryFactory(
        alert=alert,
        channel=Delivery.Channel.WEBHOOK,
        recipient=None,
        address="",
        webhook=hook,
        state=Delivery.State.RETRYING,
        attempts=2,
    )
    client.force_login(admin_user)
    html = client.get(reverse("alerts:history")).content.decode()
    row = html[html.index(f'data-alert="{alert.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Open" in row and "Acknowledged" in row and "by ada-admin" in row
    assert "Snoozed" in row and "snoozed until" in row
    assert "fiona@example.com" in row and ">Sent</span>" in row
    assert "Ops Slack" in row and ">Retrying</span>" in row
    assert reverse("alerts:detail", args=[alert.pk]) in row
    cleared = history["cleared"]
    cleared_row = html[html.index(f'data-alert="{cleared.pk}"') :]
    assert "Cleared" in cleared_row[: cleared_row.index("</tr>")]
    assert "No one" in cleared_row[: cleared_row.index("</tr>")]


def test_rows_show_the_latest_round_of_deliveries_in_bounded_queries(
    client, admin_user, history, django_assert_max_num_queries
):
    alert = history["open"]
    fiona = UserFactory(username="fiona", email="fiona@example.com")
    DeliveryFactory(alert=alert, recipient=fiona, round=0, address="old@example.com")
    DeliveryFactory(alert=alert, recipient=fiona, round=1, address="fiona@example.com")
    for _ in range(30):
        DeliveryFactory(alert=AlertFactory(rule=alert.rule, cleared_at=timezone.now()))
    client.force_login(admin_user)
    with django_assert_max_num_queries(12):
        html = client.get(reverse("alerts:history"), {"per_page": 40}).content.decode()
    row = html[html.index(f'data-alert="{alert.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "fiona@example.com" in row and "old@example.com" not in row


def test_the_history_pages_and_the_url_reproduces_the_page(client, admin_user, db):
    rule = RuleFactory()
    now = timezone.now()
    alerts = [
        AlertFactory(rule=rule, opened_at=now - timedelta(minutes=i), cleared_at=now)
        for i in range(60)
    ]
    client.force_login(admin_user)
    first = client.get(reverse("alerts:history"))
    assert shown(first) == alerts[:50]
    second = client.get(reverse("alerts:history"), {"page": 2})
    assert shown(second) == alerts[50:]
    assert "page=2" in first.content.decode()


def test_nothing_fired_says_so_and_filters_that_match_nothing_say_that(client, finance_user, db):
    client.force_login(finance_user)
    html = client.get(reverse("alerts:history")).content.decode()
    assert "No alert has fired: nothing has needed anyone&#x27;s attention yet." in html
    html = client.get(reverse("alerts:history"), {"state": "open"}).content.decode()
    assert "No alerts match these filters." in html


def test_plain_users_may_not_open_the_history(client, plain_user, history):
    client.force_login(plain_user)
    assert client.get(reverse("alerts:history")).status_code == 403
    assert client.get(reverse("alerts:detail", args=[history["open"].pk])).status_code == 403


# --- An alert's page ------------------------------------------------------------------------


def test_an_alerts_page_shows_its_figures_deliveries_and_every_attempt(
    client, finance_user, history
):
    alert = history["open"]
    hook = WebhookEndpointFactory(name="Ops Slack")
    webhook = DeliveryFactory(
        alert=alert,
        channel=Delivery.Channel.WEBHOOK,
        recipient=None,
        address="",
        webhook=hook,
        state=Delivery.State.SENT,
        attempts=2,
    )
    at = timezone.now().replace(microsecond=0)
    DeliveryAttempt.objects.create(
        delivery=webhook, at=at, ok=False, status_code=503, duration_ms=41, excerpt="upstream down"
    )
    DeliveryAttempt.objects.create(
        delivery=webhook,
        at=at + timedelta(minutes=1),
        ok=True,
        status_code=200,
        duration_ms=12,
        excerpt="ok",
    )
    DeliveryFactory(alert=alert, recipient=finance_user, state=Delivery.State.PENDING)
    client.force_login(finance_user)
    response = client.get(reverse("alerts:detail", args=[alert.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Audian main: balance 12.00 USD below 50.00 USD" in html
    assert "Balance" in html and "12.00" in html and "Threshold" in html and "50.00" in html
    assert "Webhook to Ops Slack" in html and "E-mail to fiona-finance@example.com" in html
    assert "2 attempts" in html and "Not tried yet." in html
    assert html.count('data-testid="attempt"') == 2
    assert "503" in html and "41 ms" in html and "upstream down" in html
    assert "200" in html and "12 ms" in html
    assert html.index("upstream down") < html.index(">ok<")


def test_an_alert_without_deliveries_says_nobody_was_told(client, finance_user, history):
    client.force_login(finance_user)
    html = client.get(reverse("alerts:detail", args=[history["open"].pk])).content.decode()
    assert 'data-testid="no-deliveries"' in html


def test_an_alert_of_a_rule_the_user_may_not_see_is_not_found(client, support_user, history):
    client.force_login(support_user)
    assert client.get(reverse("alerts:detail", args=[history["sync"].pk])).status_code == 200
    assert client.get(reverse("alerts:detail", args=[history["open"].pk])).status_code == 404
    assert client.get(reverse("alerts:detail", args=[999999])).status_code == 404


def test_many_deliveries_come_in_pages_latest_round_first(client, admin_user, history):
    alert = history["open"]
    for number in range(30):
        DeliveryFactory(alert=alert, round=number, recipient=admin_user, address=f"r{number}@x.io")
    client.force_login(admin_user)
    first = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert first.count('data-testid="delivery"') == 25
    assert "r29@x.io" in first and "r4@x.io" not in first
    assert "Reminder 29" in first and "?page=2" in first
    second = client.get(reverse("alerts:detail", args=[alert.pk]), {"page": 2}).content.decode()
    assert second.count('data-testid="delivery"') == 5 and "First notice" in second
