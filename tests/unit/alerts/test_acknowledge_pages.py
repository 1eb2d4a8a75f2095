"""Acknowledging and snoozing an alert on its pages (alerts.services.alerts does it): by
anyone who may see it and change alerts, only while it is open, as plain POST forms that
lead back (CSRF-protected), and with htmx swapping the alert's state alone; a bad snooze
time is refused with a clear error and changes nothing."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, Rule
from tests.support.factories import AlertFactory, GroupFactory, UserFactory


def htmx_for(alert):
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": f"alert-{alert.pk}-state"}


@pytest.fixture
def alert(db):
    """An open low-balance alert: Finance's and admins' to see, not Support's."""
    return AlertFactory(rule=Rule.objects.get(kind=Rule.Kind.LOW_BALANCE))


# --- The forms, without JavaScript ------------------------------------------------------


def test_acknowledge_is_a_post_that_leads_back_where_it_was_sent_from(client, alert, finance_user):
    client.force_login(finance_user)
    back = f"{reverse('alerts:history')}?state=open"
    response = client.post(reverse("alerts:acknowledge", args=[alert.pk]), {"next": back})
    assert response.status_code == 302 and response.url == back
    alert.refresh_from_db()
    assert alert.acknowledged_by == finance_user
    page = client.get(back).content.decode()
    assert "Acknowledged: no reminders until it clears and fires again." in page
    assert "by fiona-finance" in page
    # Acknowledged: its button is gone, Snooze stays.
    assert reverse("alerts:acknowledge", args=[alert.pk]) not in page
    assert reverse("alerts:snooze", args=[alert.pk]) in page


def test_a_foreign_next_leads_to_the_alerts_page(client, alert, finance_user):
    client.force_login(finance_user)
    response = client.post(
        reverse("alerts:acknowledge", args=[alert.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("alerts:detail", args=[alert.pk])


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("hour", timedelta(hours=1)), ("day", timedelta(days=1)), ("week", timedelta(weeks=1))],
)
def test_snooze_for_a_chosen_time(client, alert, finance_user, duration, expected):
    client.force_login(finance_user)
    before = timezone.now()
    response = client.post(reverse("alerts:snooze", args=[alert.pk]), {"duration": duration})
    assert response.status_code == 302
    assert response.url == reverse("alerts:detail", args=[alert.pk])
    alert.refresh_from_db()
    assert before + expected <= alert.snoozed_until <= timezone.now() + expected
    page = client.get(response.url).content.decode()
    assert "no reminder before then" in page and ">Snoozed</span>" in page


def test_snooze_until_a_time_typed(client, alert, finance_user):
    client.force_login(finance_user)
    until = timezone.localtime() + timedelta(days=3)
    client.post(
        reverse("alerts:snooze", args=[alert.pk]), {"until": until.strftime("%Y-%m-%dT%H:%M")}
    )
    alert.refresh_from_db()
    assert alert.snoozed_until == until.replace(second=0, microsecond=0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Choose how long to snooze for, or a time to snooze until."),
        ({"until": "2020-01-01T10:00"}, "Choose a time to come: this one has passed."),
        ({"until": "2999-01-01T10:00"}, "Snooze for 30 days at most; acknowledge the alert"),
        ({"until": "tomorrow"}, "Enter a valid date/time."),
        ({"duration": "fortnight"}, "Select a valid choice."),
    ],
)
def test_a_bad_snooze_is_refused_on_the_alerts_page(client, alert, finance_user, body, message):
    client.force_login(finance_user)
    response = client.post(reverse("alerts:snooze", args=[alert.pk]), body)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    # A time typed is marked as refused (the buttons send only the choices offered).
    assert ('aria-invalid="true"' in html) == ("duration" not in body)
    # The menu is open on the page, the error beside the field.
    assert '<details class="snooze-menu" data-menu open>' in html
    assert Alert.objects.get(pk=alert.pk).snoozed_until is None


def test_acknowledging_a_cleared_alert_says_why_not(client, alert, finance_user):
    Alert.objects.filter(pk=alert.pk).update(cleared_at=timezone.now())
    client.force_login(finance_user)
    response = client.post(reverse("alerts:acknowledge", args=[alert.pk]), follow=True)
    assert "This alert has cleared already: there is nothing to acknowledge." in (
        response.content.decode()
    )


def test_cleared_alerts_offer_no_buttons(client, alert, finance_user):
    Alert.objects.filter(pk=alert.pk).update(cleared_at=timezone.now())
    client.force_login(finance_user)
    html = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert reverse("alerts:acknowledge", args=[alert.pk]) not in html
    assert reverse("alerts:snooze", args=[alert.pk]) not in html


# --- With htmx ----------------------------------------------------------------------------


def test_with_htmx_acknowledge_answers_with_the_alerts_state_alone(client, alert, finance_user):
    client.force_login(finance_user)
    back = reverse("alerts:history")
    response = client.post(
        reverse("alerts:acknowledge", args=[alert.pk]), {"next": back}, **htmx_for(alert)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<div id="alert-{alert.pk}-state"')
    assert "<nav" not in html
    assert "Acknowledged" in html and "by fiona-finance" in html
    assert "no reminders until it clears" in html
    # Its forms still lead back to the page they are on, not to the POST's address.
    assert f'name="next" value="{back}"' in html


def test_with_htmx_a_bad_snooze_shows_its_error_in_place(client, alert, finance_user):
    client.force_login(finance_user)
    response = client.post(
        reverse("alerts:snooze", args=[alert.pk]), {"until": "2020-01-01T10:00"}, **htmx_for(alert)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<div id="alert-{alert.pk}-state"')
    assert "Choose a time to come: this one has passed." in html
    assert 'value="2020-01-01T10:00"' in html


def test_with_htmx_a_cleared_alert_says_why_not_in_place(client, alert, finance_user):
    Alert.objects.filter(pk=alert.pk).update(cleared_at=timezone.now())
    client.force_login(finance_user)
    response = client.post(
        reverse("alerts:snooze", args=[alert.pk]), {"duration": "hour"}, **htmx_for(alert)
    )
    html = response.content.decode()
    assert "there is nothing to snooze" in html and 'role="alert"' in html


# --- Who may -----------------------------------------------------------------------------


def test_who_may_not_see_the_alert_cannot_find_it(client, alert, support_user):
    client.force_login(support_user)
    response = client.post(reverse("alerts:acknowledge", args=[alert.pk]))
    assert response.status_code == 404
    assert Alert.objects.get(pk=alert.pk).acknowledged_at is None


def test_who_may_see_alerts_but_not_change_them_gets_no_buttons(client, alert, db):
    viewer = UserFactory(username="viewer")
    group = GroupFactory(name="Viewers")
    group.permissions.add(
        *Permission.objects.filter(codename__in=["view_alert", "view_balancesnapshot"])
    )
    viewer.groups.add(group)
    client.force_login(viewer)
    html = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert "Acknowledge" not in html and "Snooze" not in html
    assert client.post(reverse("alerts:acknowledge", args=[alert.pk])).status_code == 403


def test_the_forms_need_the_csrf_token(alert, finance_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(finance_user)
    assert client.post(reverse("alerts:acknowledge", args=[alert.pk])).status_code == 403
    assert (
        client.post(reverse("alerts:snooze", args=[alert.pk]), {"duration": "hour"}).status_code
        == 403
    )
    alert.refresh_from_db()
    assert alert.acknowledged_at is None and alert.snoozed_until is None
    html = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert html.count('name="csrfmiddlewaretoken"') >= 3
