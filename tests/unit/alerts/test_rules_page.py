"""The rules page (admins): every rule with its condition in words, reminder period, whether
it is active and how many receive it; a rule's page with only its kind's parameters, its
reminder period as a choice and who receives it; adding a rule of a kind; bad input refused
with clear errors and nothing saved; every change audited."""

from datetime import timedelta

import pytest
from django.urls import reverse

from alerts.forms import RuleForm
from alerts.models import Rule, Subscription
from alerts.selectors.rules import receivers
from alerts.selectors.subscriptions import recipients
from alerts.views.rules import RuleEditView
from portal.models import AuditEvent
from portal.roles import SUPPORT
from tests.support.factories import (
    RuleFactory,
    SubscriptionFactory,
    UserFactory,
    WebhookEndpointFactory,
)

ALERT_SETTINGS = AuditEvent.Action.ALERT_SETTINGS


def rule(kind) -> Rule:
    return Rule.objects.get(kind=kind)


def form_data(rule: Rule, **changes) -> dict:
    """What the rule's form sends unchanged (receivers ticked as they receive it now, an
    address or not), with `changes`."""
    data = {
        "name": rule.name,
        "is_active": "on" if rule.is_active else "",
        "remind_every": ""
        if rule.remind_every is None
        else str(int(rule.remind_every.total_seconds())),
    }
    for name in ("days", "hours", "failed_runs", "minutes"):
        if getattr(rule, name) is not None:
            data[name] = str(getattr(rule, name))
    data["receivers"] = [r.user.pk for r in receivers([rule])[0] if r.receives]
    data.update(changes)
    return {name: value for name, value in data.items() if value != ""}


@pytest.fixture
def team(db, admin_user, finance_user, support_user):
    """An admin, Finance and Support (their e-mail addresses set), and a Support user
    without an address."""
    return {
        "admin": admin_user,
        "finance": finance_user,
        "support": support_user,
        "silent": UserFactory(username="sid-no-mail", email="", groups=[SUPPORT]),
    }


# --- The list ------------------------------------------------------------------------------


def test_the_rules_page_lists_each_rule_in_words_with_who_receives_it(client, team):
    WebhookEndpointFactory(name="Ops").rules.add(rule(Rule.Kind.SYNC_FAILING))
    client.force_login(team["admin"])
    response = client.get(reverse("alerts:rules"))
    assert response.status_code == 200
    html = response.content.decode()
    rules = {r.kind: r for r in response.context["rules"]}
    assert len(rules) == len(Rule.Kind)
    sync = rules[Rule.Kind.SYNC_FAILING]
    assert sync.condition == "No successful sync for 24 hours, or 3 failed runs in a row"
    assert sync.reminder == "daily" and sync.webhook_count == 1
    assert rules[Rule.Kind.RUNWAY].condition == (
        "Balance runs out within 14 days at its recent pace"
    )
    assert rules[Rule.Kind.RENEWAL_AT_RISK].reminder == "every 12 hours"
    assert rules[Rule.Kind.IDLE_DIGEST].reminder == "never"
    # Who receives it by e-mail: as the e-mails go (alerts.selectors.subscriptions).
    for kind, shown in rules.items():
        assert shown.receiver_count == len(recipients(rule(kind))), kind
    # Sync failing: Support by default and the admin; not the Support user without an
    # address (nothing can reach them).
    assert sync.receiver_count == 2
    assert "1 webhook" in html and "No successful sync for 24 hours" in html
    assert f'href="{reverse("alerts:rule_edit", args=[sync.pk])}"' in html


def test_an_inactive_rule_is_marked(client, team):
    Rule.objects.filter(kind=Rule.Kind.IDLE_DIGEST).update(is_active=False)
    client.force_login(team["admin"])
    html = client.get(reverse("alerts:rules")).content.decode()
    assert html.count(">Inactive</span>") == 1


@pytest.mark.parametrize("role", ["finance", "support"])
def test_only_admins_change_rules(client, team, role):
    client.force_login(team[role])
    runway = rule(Rule.Kind.RUNWAY)
    assert client.get(reverse("alerts:rules")).status_code == 403
    assert client.get(reverse("alerts:rule_edit", args=[runway.pk])).status_code == 403
    response = client.post(
        reverse("alerts:rule_edit", args=[runway.pk]), form_data(runway, days="2")
    )
    assert response.status_code == 403
    assert rule(Rule.Kind.RUNWAY).days == 14


# --- A rule's page --------------------------------------------------------------------------


def test_the_form_asks_only_for_the_kinds_parameters(client, team):
    client.force_login(team["admin"])
    expected = {
        Rule.Kind.LOW_BALANCE: set(),
        Rule.Kind.RUNWAY: {"days"},
        Rule.Kind.SYNC_FAILING: {"hours", "failed_runs"},
        Rule.Kind.UNKNOWN_PURCHASES: {"minutes"},
    }
    for kind, parameters in expected.items():
        response = client.get(reverse("alerts:rule_edit", args=[rule(kind).pk]))
        form = response.context["form"]
        assert {f.name for f in form.parameter_fields} == parameters, kind
        html = response.content.decode()
        for name in {"days", "hours", "failed_runs", "minutes"} - parameters:
            assert f'name="{name}"' not in html, (kind, name)


def test_the_reminder_is_a_choice_keeping_a_period_of_its_own(client, team):
    client.force_login(team["admin"])
    renewal = rule(Rule.Kind.RENEWAL_AT_RISK)
    form = client.get(reverse("alerts:rule_edit", args=[renewal.pk])).context["form"]
    labels = [label for _, label in form.fields["remind_every"].choices]
    assert labels == ["Never", "Hourly", "Every 6 hours", "Every 12 hours", "Daily", "Weekly"]
    assert form.initial["remind_every"] == str(12 * 3600)
    runway = rule(Rule.Kind.RUNWAY)
    form = client.get(reverse("alerts:rule_edit", args=[runway.pk])).context["form"]
    labels = [label for _, label in form.fields["remind_every"].choices]
    assert labels == ["Never", "Hourly", "Every 6 hours", "Daily", "Weekly"]


def test_receivers_are_ticked_as_they_receive_it_now(client, team):
    sync = rule(Rule.Kind.SYNC_FAILING)
    SubscriptionFactory(user=team["finance"], rule=sync, subscribed=True)
    client.force_login(team["admin"])
    form = client.get(reverse("alerts:rule_edit", args=[sync.pk])).context["form"]
    ticked = {user.username for user, box in form.receiver_options() if box.data["selected"]}
    offered = {user.username for user, _ in form.receiver_options()}
    # Everyone who may see syncs; ticked: Support's default, Finance's own choice, admins.
    assert offered == {"ada-admin", "fiona-finance", "sam-support", "sid-no-mail"}
    assert ticked == {"ada-admin", "fiona-finance", "sam-support", "sid-no-mail"}
    # Support may not see balances: not offered the balance rule at all.
    low = rule(Rule.Kind.LOW_BALANCE)
    form = client.get(reverse("alerts:rule_edit", args=[low.pk])).context["form"]
    assert {user.username for user, _ in form.receiver_options()} == {
        "ada-admin",
        "fiona-finance",
    }


def test_saving_changes_the_rule_and_audits_it(client, team):
    runway = rule(Rule.Kind.RUNWAY)
    client.force_login(team["admin"])
    response = client.post(
        reverse("alerts:rule_edit", args=[runway.pk]),
        form_data(runway, name="Runway under a week", days="7", remind_every=str(6 * 3600)),
    )
    assert response.status_code == 302 and response.url == reverse("alerts:rules")
    runway.refresh_from_db()
    assert (runway.name, runway.days, runway.remind_every) == (
        "Runway under a week",
        7,
        timedelta(hours=6),
    )
    event = AuditEvent.objects.get(action=ALERT_SETTINGS)
    assert (event.actor, event.object_id) == (team["admin"], str(runway.pk))
    assert event.before == {"name": "Runway under 14 days", "days": 14, "remind_every": "daily"}
    assert event.after == {
        "name": "Runway under a week",
        "days": 7,
        "remind_every": "every 6 hours",
    }
    page = client.get(response.url).content.decode()
    assert "“Runway under a week” saved." in page

    # Saved again unchanged: nothing recorded.
    client.post(reverse("alerts:rule_edit", args=[runway.pk]), form_data(runway))
    assert AuditEvent.objects.filter(action=ALERT_SETTINGS).count() == 1


def test_deactivating_and_never_reminding(client, team):
    sync = rule(Rule.Kind.SYNC_FAILING)
    client.force_login(team["admin"])
    data = form_data(sync, remind_every="")
    del data["is_active"]
    client.post(reverse("alerts:rule_edit", args=[sync.pk]), data)
    sync.refresh_from_db()
    assert not sync.is_active and sync.remind_every is None
    event = AuditEvent.objects.get(action=ALERT_SETTINGS)
    assert event.after == {"is_active": False, "remind_every": "never"}


def test_ticking_and_unticking_writes_explicit_choices_for_those_changed(client, team):
    sync = rule(Rule.Kind.SYNC_FAILING)
    client.force_login(team["admin"])
    ticked = {team["admin"].pk, team["finance"].pk, team["silent"].pk}  # Sam unticked
    response = client.post(
        reverse("alerts:rule_edit", args=[sync.pk]),
        form_data(sync, receivers=sorted(ticked)),
    )
    assert response.status_code == 302
    choices = dict(
        Subscription.objects.filter(rule=sync).values_list("user__username", "subscribed")
    )
    # Only the two whose tick changed have a choice of their own; the others keep their
    # role's default.
    assert choices == {"fiona-finance": True, "sam-support": False}
    assert {user.username for user in recipients(sync)} == {"ada-admin", "fiona-finance"}
    audited = AuditEvent.objects.filter(action=ALERT_SETTINGS, object_id=str(sync.pk))
    assert sorted(event.after["user"] for event in audited) == ["fiona-finance", "sam-support"]
    assert all(event.actor == team["admin"] for event in audited)


@pytest.mark.parametrize(
    ("kind", "changes", "field", "message"),
    [
        (Rule.Kind.RUNWAY, {"days": "0"}, "days", "Runway under (days) must be 1 or more."),
        (Rule.Kind.RUNWAY, {"days": "-3"}, "days", "Runway under (days) must be 1 or more."),
        (
            Rule.Kind.RUNWAY,
            {"days": ""},
            "days",
            "Enter runway under (days): a whole number, 1 or more.",
        ),
        (Rule.Kind.RUNWAY, {"days": "two"}, "days", "Enter a whole number, 1 or more."),
        (
            Rule.Kind.RUNWAY,
            {"days": "99999999999"},
            "days",
            "Runway under (days) must be 3,650 at most.",
        ),
        (
            Rule.Kind.SYNC_FAILING,
            {"failed_runs": "0"},
            "failed_runs",
            "Failed runs in a row must be 1 or more.",
        ),
        (Rule.Kind.RUNWAY, {"name": ""}, "name", "This field is required."),
        (Rule.Kind.RUNWAY, {"name": "Sync failing"}, "name", "Another rule already has this name."),
        (Rule.Kind.RUNWAY, {"remind_every": "60"}, "remind_every", "Select a valid choice."),
        (Rule.Kind.RUNWAY, {"receivers": ["999999"]}, "receivers", "Select a valid choice."),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_saved(
    client, team, kind, changes, field, message
):
    shown = rule(kind)
    client.force_login(team["admin"])
    response = client.post(
        reverse("alerts:rule_edit", args=[shown.pk]), {**form_data(shown), **changes}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "The rule is not saved" in html
    assert field in response.context["form"].errors
    if field != "receivers":
        assert 'aria-invalid="true"' in html
    unchanged = rule(kind)
    assert [getattr(unchanged, name) for name in ("name", "days", "failed_runs")] == [
        getattr(shown, name) for name in ("name", "days", "failed_runs")
    ]
    assert not AuditEvent.objects.exists() and not Subscription.objects.exists()


def test_a_missing_rule_is_not_found(client, team):
    client.force_login(team["admin"])
    assert client.get(reverse("alerts:rule_edit", args=[999999])).status_code == 404


# --- Adding a rule -----------------------------------------------------------------------


def test_adding_asks_for_the_kind_first(client, team):
    client.force_login(team["admin"])
    response = client.get(reverse("alerts:rule_add"))
    assert response.status_code == 200
    assert 'name="kind"' in response.content.decode()
    bad = client.get(reverse("alerts:rule_add"), {"kind": "weather"})
    assert bad.status_code == 400
    assert "Select a valid choice. weather is not one of the available choices." in (
        bad.content.decode()
    )
    assert client.post(f"{reverse('alerts:rule_add')}?kind=weather", {}).status_code == 400


def test_adding_a_rule_of_a_kind(client, team):
    client.force_login(team["admin"])
    url = f"{reverse('alerts:rule_add')}?kind=runway"
    form = client.get(url).context["form"]
    assert [f.name for f in form.parameter_fields] == ["days"]
    assert form.initial["remind_every"] == str(24 * 3600)  # daily, as the default rules
    # A new rule: each user as their role has it (Finance by default; Support may not).
    assert {user.username for user, _ in form.receiver_options()} == {
        "ada-admin",
        "fiona-finance",
    }
    response = client.post(
        url,
        {
            "name": "Runway under 3 days",
            "is_active": "on",
            "days": "3",
            "remind_every": "3600",
            "receivers": [team["admin"].pk],
        },
    )
    assert response.status_code == 302
    added = Rule.objects.get(name="Runway under 3 days")
    assert (added.kind, added.days, added.remind_every) == (
        Rule.Kind.RUNWAY,
        3,
        timedelta(hours=1),
    )
    assert added.hours is None and added.failed_runs is None and added.minutes is None
    event = (
        AuditEvent.objects.filter(action=ALERT_SETTINGS, object_id=str(added.pk))
        .order_by("created_at", "pk")
        .first()
    )
    assert event.before is None
    assert event.after["kind"] == "runway" and event.after["days"] == 3
    # Fiona unticked: her choice, recorded.
    assert [user.username for user in recipients(added)] == ["ada-admin"]
    assert Subscription.objects.get(rule=added).user == team["finance"]


def test_adding_with_bad_input_adds_nothing(client, team):
    client.force_login(team["admin"])
    count = Rule.objects.count()
    response = client.post(
        f"{reverse('alerts:rule_add')}?kind=runway", {"name": "Runway", "days": "0"}
    )
    assert response.status_code == 400
    assert "Runway under (days) must be 1 or more." in response.content.decode()
    assert Rule.objects.count() == count and not AuditEvent.objects.exists()


def test_a_name_taken_between_the_check_and_the_save_is_refused_in_place(rf, team):
    runway = rule(Rule.Kind.RUNWAY)
    request = rf.post(reverse("alerts:rule_edit", args=[runway.pk]))
    request.user = team["admin"]
    view = RuleEditView()
    view.setup(request, pk=runway.pk)
    form = RuleForm(
        form_data(runway, name="Runway, short"),
        instance=Rule.objects.get(pk=runway.pk),
        receivers=receivers([runway])[0],
    )
    assert form.is_valid()
    RuleFactory(kind=Rule.Kind.RUNWAY, name="Runway, short", days=3)  # another admin, meanwhile

    response = view.save(runway, form, "saved")

    assert response.status_code == 400
    assert "Another rule already has this name." in response.render().content.decode()
    assert Rule.objects.get(pk=runway.pk).name == "Runway under 14 days"
    assert not AuditEvent.objects.exists()
