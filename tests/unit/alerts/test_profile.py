"""The profile page: every user's e-mail address (validated), the rules they may receive
with their role's defaults or their own choices, a reset, a test e-mail that a real SMTP
server receives, and the password change."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from alerts.models import Rule, Subscription
from portal.models import AuditEvent
from tests.support.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
PROFILE = "alerts:profile"


def page(client, user):
    client.force_login(user)
    return client.get(reverse(PROFILE))


def rule(kind):
    return Rule.objects.get(kind=kind)


def shown_rules(response):
    return {row.rule.kind: row for _, row in response.context["subscriptions_form"].entries()}


def test_the_user_menu_links_to_the_profile(client, plain_user):
    client.force_login(plain_user)
    response = client.get(reverse("dashboard"))
    assert f'href="{reverse(PROFILE)}"'.encode() in response.content


def test_finance_sees_the_rules_it_may_receive_ticked_by_its_role(client, finance_user):
    response = page(client, finance_user)
    assert response.status_code == 200
    rows = shown_rules(response)
    # Finance may see balances, spend, syncs, orders and numbers: every rule is theirs to
    # receive; their role's defaults tick balance, runway, renewals and spend.
    assert {kind for kind, row in rows.items() if row.subscribed} == {
        Rule.Kind.LOW_BALANCE,
        Rule.Kind.RUNWAY,
        Rule.Kind.RENEWAL_AT_RISK,
        Rule.Kind.SPEND_OVER_BUDGET,
    }
    assert not any(row.own_choice for row in rows.values())
    assert finance_user.email.encode() in response.content
    assert b"role default" in response.content


def test_support_is_not_offered_what_it_may_not_see(client, support_user):
    rows = shown_rules(page(client, support_user))
    assert Rule.Kind.LOW_BALANCE not in rows and Rule.Kind.SPEND_OVER_BUDGET not in rows
    assert {kind for kind, row in rows.items() if row.subscribed} == {
        Rule.Kind.SYNC_FAILING,
        Rule.Kind.UNKNOWN_PURCHASES,
    }


def test_a_user_without_a_role_has_nothing_to_receive(client, plain_user):
    response = page(client, plain_user)
    assert b'data-testid="no-subscriptions"' in response.content


def test_subscriptions_are_saved_as_own_choices_and_reset(client, finance_user):
    client.force_login(finance_user)
    ticked = {
        f"rule_{r.pk}": "on"
        for r in Rule.objects.filter(
            kind__in=[
                Rule.Kind.LOW_BALANCE,
                Rule.Kind.RENEWAL_AT_RISK,
                Rule.Kind.SPEND_OVER_BUDGET,
                Rule.Kind.SYNC_FAILING,
            ]
        )
    }
    response = client.post(reverse(PROFILE), {"action": "subscriptions", **ticked}, follow=True)
    assert response.redirect_chain == [(reverse(PROFILE), 302)]
    assert b"Your subscriptions are saved." in response.content
    # Only the two changed rules became own choices: the rest still follow the role.
    assert dict(
        Subscription.objects.filter(user=finance_user).values_list("rule__kind", "subscribed")
    ) == {Rule.Kind.RUNWAY: False, Rule.Kind.SYNC_FAILING: True}
    rows = shown_rules(response)
    assert rows[Rule.Kind.RUNWAY].own_choice and not rows[Rule.Kind.RUNWAY].subscribed
    assert rows[Rule.Kind.SYNC_FAILING].subscribed
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ALERT_SETTINGS).count() == 2

    response = client.post(reverse(PROFILE), {"action": "reset"}, follow=True)
    assert b"You receive your role&#x27;s defaults again." in response.content
    assert not Subscription.objects.filter(user=finance_user).exists()
    assert shown_rules(response)[Rule.Kind.RUNWAY].subscribed


def test_a_rule_the_user_may_not_receive_cannot_be_chosen_by_a_crafted_post(client, support_user):
    client.force_login(support_user)
    balance = rule(Rule.Kind.LOW_BALANCE)
    response = client.post(
        reverse(PROFILE), {"action": "subscriptions", f"rule_{balance.pk}": "on"}
    )
    assert response.status_code == 302
    assert not Subscription.objects.filter(user=support_user, rule=balance).exists()


def test_the_email_address_is_changed_and_a_bad_one_refused_clearly(client, finance_user):
    client.force_login(finance_user)
    response = client.post(reverse(PROFILE), {"action": "email", "email": "fiona@finance.example"})
    assert response.status_code == 302
    finance_user.refresh_from_db()
    assert finance_user.email == "fiona@finance.example"
    event = AuditEvent.objects.get(action=AuditEvent.Action.ALERT_SETTINGS)
    assert event.after == {"email": "fiona@finance.example"}

    for bad, error in (
        ("not an address", b"Enter a valid email address."),
        ("", b"Enter the e-mail address alerts should go to."),
        ("a@" + "b" * 260 + ".com", b"at most 254 characters"),
    ):
        response = client.post(reverse(PROFILE), {"action": "email", "email": bad})
        assert response.status_code == 400
        assert b'data-testid="email-errors"' in response.content
        assert error in response.content
        assert b'aria-invalid="true"' in response.content
    finance_user.refresh_from_db()
    assert finance_user.email == "fiona@finance.example"


def test_an_unknown_action_is_a_bad_request(client, plain_user):
    client.force_login(plain_user)
    response = client.post(reverse(PROFILE), {"action": "delete-everything"})
    assert response.status_code == 400
    assert b"That is not something this page can do." in response.content


def test_the_test_email_reaches_the_users_address(client, smtp, support_user):
    client.force_login(support_user)
    response = client.post(reverse(PROFILE), {"action": "test"}, follow=True)
    assert f"A test e-mail is on its way to {support_user.email}.".encode() in response.content
    (mail,) = smtp.messages
    assert mail.to == [support_user.email]
    assert mail.subject == "[Number portal] Test e-mail"
    assert "alerts sent to this address reach you" in mail.text
    profile = f"{settings.PORTAL_URL}{reverse(PROFILE)}"
    assert mail.text.rstrip().endswith(f"Change or stop what you receive: {profile}")


def test_the_test_email_says_why_it_was_not_sent(client, smtp, support_user):
    client.force_login(support_user)
    smtp.refused.add(support_user.email)
    response = client.post(reverse(PROFILE), {"action": "test"})
    assert response.status_code == 400
    assert b"The test e-mail was not sent." in response.content
    assert b"550" in response.content
    no_address = UserFactory(username="no-mail", email="")
    client.force_login(no_address)
    response = client.post(reverse(PROFILE), {"action": "test"})
    assert response.status_code == 400
    assert b"Add your e-mail address first" in response.content
    assert smtp.messages == []


def test_the_password_is_changed_with_djangos_form(client, plain_user):
    client.force_login(plain_user)
    url = reverse("alerts:password")
    assert client.get(url).status_code == 200
    wrong = client.post(url, {"old_password": "nope", "new_password1": "x", "new_password2": "y"})
    assert wrong.status_code == 400
    assert b"Your old password was entered incorrectly" in wrong.content
    new = "a-much-longer-passphrase-42"
    response = client.post(
        url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new}, follow=True
    )
    assert response.redirect_chain == [(reverse(PROFILE), 302)]
    assert b"Your password is changed." in response.content
    assert get_user_model().objects.get(pk=plain_user.pk).check_password(new)
    # Still signed in: the session was kept with the new password.
    assert client.get(reverse(PROFILE)).status_code == 200
