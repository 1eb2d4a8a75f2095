"""Every page needs a login, and each role reaches exactly the pages its permissions allow.

`test_access_matrix` asks every URL of the project, as the resolver lists it, with every
role and every HTTP method, and compares the answer with `EXPECTED`: a new URL fails until
it is listed there, and no answer is ever a 500. Django admin's own URLs (its login, its
per-object pages, jsi18n…) are Django's; what the portal adds to admin are its
registrations, so the matrix covers the admin index and each registered model's changelist
and add page, all staff-only.
"""

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from alerts.models import Rule
from numbers.models import NumberOrder
from portal.navigation import items_for
from portal.roles import FINANCE, SUPPORT
from tests.support.factories import (
    AlertFactory,
    PhoneNumberFactory,
    ProviderAccountFactory,
    ProviderFactory,
    UserFactory,
    WebhookEndpointFactory,
    order_for,
)
from tests.support.urls import url_of

# POST last: it may change what the other methods would see (a sign-out, a label).
METHODS = ("GET", "HEAD", "PUT", "PATCH", "DELETE", "POST")
ROLES = ("anonymous", "inactive", "plain", "support", "finance", "admin")
LOGGED_IN = ("plain", "support", "finance", "admin")
# Not logged in: an anonymous visitor, and an active session of a user since deactivated
# (an inactive superuser, who would otherwise be allowed everything).
LOGGED_OUT = ("anonymous", "inactive")

LOGIN = "login"  # a redirect to the portal's login page, with ?next=
ADMIN_LOGIN = "admin-login"  # a redirect to Django admin's login page, with ?next=

# What a URL answers one role, by method; a method left out is refused with 405.
PAGE = {"GET": 200, "HEAD": 200}
EVERY_METHOD = dict.fromkeys(METHODS, LOGIN)
FORBIDDEN = dict.fromkeys(METHODS, 403)


def post_only(status):
    return {"POST": status}


@dataclass(frozen=True)
class Access:
    """Who may use a URL and how it answers them: `allowed` for the roles in `roles`,
    403 for the other logged-in roles, the login page for those not logged in."""

    roles: tuple[str, ...]
    allowed: dict

    def answers(self, role) -> dict:
        if role in LOGGED_OUT:
            return EVERY_METHOD
        if role not in self.roles:
            return FORBIDDEN
        return self.allowed


EVERYONE = LOGGED_IN
SUPPORT_ROLES = ("support", "admin")
FINANCE_ROLES = ("finance", "admin")
STAFF_ROLES = ("support", "finance", "admin")


def public(answers) -> dict:
    return dict.fromkeys(ROLES, answers)


def per_role(**answers) -> dict:
    assert set(answers) == set(ROLES)
    return answers


def admin_page(admin_answers, *, logged_out=LOGIN) -> dict:
    """Django admin lets staff in only, whatever the method. A logged-in user who is not
    staff is sent to admin's own login page (to log in as someone else); those not logged
    in are sent to the portal's login page, or admin's from its index."""
    return {
        **{role: dict.fromkeys(METHODS, logged_out) for role in LOGGED_OUT},
        **{role: dict.fromkeys(METHODS, ADMIN_LOGIN) for role in LOGGED_IN if role != "admin"},
        "admin": admin_answers,
    }


# Django admin answers every method of its index, changelists and add pages itself (an
# empty changelist or add form posted back shows the page again).
ADMIN_PAGE = dict.fromkeys(METHODS, 200)
# Models admins edit in admin...
EDITABLE_IN_ADMIN = (
    ("auth", "group"),
    ("auth", "user"),
    ("portal", "provider"),
    ("portal", "provideraccount"),
    ("numbers", "tag"),
    ("alerts", "rule"),
    ("alerts", "subscription"),
)
# ...and those it only shows: synced from upstreams, or records of what happened.
READ_ONLY_IN_ADMIN = (
    ("django_tasks_database", "dbtaskresult"),
    ("axes", "accessattempt"),
    ("axes", "accesslog"),
    ("axes", "accessfailurelog"),
    ("portal", "syncrun"),
    ("portal", "auditevent"),
    ("numbers", "phonenumber"),
    ("numbers", "numberorder"),
    ("numbers", "call"),
    ("numbers", "numberday"),
    ("numbers", "numbermonth"),
    ("numbers", "labelmonth"),
    ("billing", "transaction"),
    ("billing", "balancesnapshot"),
    ("billing", "serviceplan"),
    ("alerts", "webhookendpoint"),
    ("alerts", "alert"),
    ("alerts", "delivery"),
)


def admin_model_pages(models, add_answers) -> dict:
    pages = {}
    for app, model in models:
        pages[f"admin:{app}_{model}_changelist"] = admin_page(ADMIN_PAGE)
        pages[f"admin:{app}_{model}_add"] = admin_page(add_answers)
    return pages


# (URL name, or route for an unnamed URL) → role → method → status.
EXPECTED = {
    # Public: the login page (which sends the logged-in on), health, favicon and logout.
    "login": per_role(
        anonymous={"GET": 200, "HEAD": 200, "POST": 200, "PUT": 200},
        inactive={"GET": 200, "HEAD": 200, "POST": 200, "PUT": 200},
        **dict.fromkeys(LOGGED_IN, dict.fromkeys(METHODS, 302)),
    ),
    "health": public({"GET": 200}),
    "favicon.ico": public({"GET": 301}),
    "logout": Access(EVERYONE, post_only(302)),
    # Everyone logged in.
    "dashboard": Access(EVERYONE, PAGE),
    # Numbers: Support and Finance read; Support labels, releases and buys.
    "numbers:list": Access(STAFF_ROLES, PAGE),
    "numbers:detail": Access(STAFF_ROLES, PAGE),
    "numbers:label": Access(SUPPORT_ROLES, {**PAGE, "POST": 302}),
    "numbers:release": Access(SUPPORT_ROLES, {**PAGE, "POST": 200}),
    "numbers:bulk_label": Access(SUPPORT_ROLES, post_only(200)),
    "numbers:search": Access(SUPPORT_ROLES, PAGE),
    # Without an offer the confirmation is a bad request.
    "numbers:buy": Access(SUPPORT_ROLES, {"GET": 400, "HEAD": 400, "POST": 400}),
    "numbers:orders": Access(STAFF_ROLES, PAGE),
    "numbers:idle": Access(STAFF_ROLES, PAGE),
    "numbers:order_check": Access(SUPPORT_ROLES, post_only(302)),
    # Sync: both roles see and start syncs.
    "sync_runs": Access(STAFF_ROLES, PAGE),
    "sync_progress": Access(STAFF_ROLES, {"GET": 302}),  # htmx's fragment; else the page
    # Opened as a page, the start address leads to the sync page.
    "start_sync": Access(STAFF_ROLES, {"GET": 302, "HEAD": 302, "POST": 302}),
    "start_sync_account": Access(STAFF_ROLES, {"GET": 302, "HEAD": 302, "POST": 302}),
    # Billing: Finance and admins; thresholds are set by admins only.
    "billing:transactions": Access(FINANCE_ROLES, PAGE),
    "billing:transactions_csv": Access(FINANCE_ROLES, {"GET": 200}),
    "billing:transactions_xlsx": Access(FINANCE_ROLES, {"GET": 200}),
    "billing:balances": Access(FINANCE_ROLES, PAGE),
    "billing:balance_threshold": Access(("admin",), post_only(302)),
    "billing:balance_budget": Access(("admin",), post_only(302)),
    "billing:spend": Access(FINANCE_ROLES, PAGE),
    "billing:plans": Access(FINANCE_ROLES, PAGE),
    # Alerts: both roles see the history of what they may see (the alert here, a purchase
    # left unknown, is both roles'), and acknowledge or snooze it; an empty snooze is
    # refused. Admins change the rules; adding one without a kind asks for it.
    "alerts:history": Access(STAFF_ROLES, PAGE),
    "alerts:detail": Access(STAFF_ROLES, PAGE),
    "alerts:acknowledge": Access(STAFF_ROLES, post_only(302)),
    "alerts:snooze": Access(STAFF_ROLES, post_only(400)),
    "alerts:rules": Access(("admin",), PAGE),
    "alerts:rule_add": Access(("admin",), {**PAGE, "POST": 400}),
    "alerts:rule_edit": Access(("admin",), {**PAGE, "POST": 400}),
    # Everyone's own profile (a POST without a known action, or with an empty password
    # form, is a bad request).
    "alerts:profile": Access(EVERYONE, {**PAGE, "POST": 400}),
    "alerts:password": Access(EVERYONE, {**PAGE, "POST": 400}),
    # Alert channels (webhooks): admins only. Adding or rotating answers with the page that
    # shows the new secret once; a test is sent (to a closed port: it fails) and reported on
    # the list; an empty form or action is refused.
    "alerts:channels": Access(("admin",), PAGE),
    "alerts:channel_add": Access(("admin",), {**PAGE, "POST": 400}),
    "alerts:channel_edit": Access(("admin",), {**PAGE, "POST": 400}),
    "alerts:channel_rotate": Access(("admin",), post_only(200)),
    "alerts:channel_remove": Access(("admin",), post_only(400)),
    "alerts:channel_test": Access(("admin",), post_only(302)),
    # Django admin: staff only.
    "admin:index": admin_page(ADMIN_PAGE, logged_out=ADMIN_LOGIN),
    **admin_model_pages(EDITABLE_IN_ADMIN, ADMIN_PAGE),
    **admin_model_pages(READ_ONLY_IN_ADMIN, FORBIDDEN),
}


def _admin_url_names() -> list[str]:
    """The admin pages the portal adds: the index, and each registered model's list and
    add page (which Django admin shows only to staff with the model's permissions)."""
    names = ["admin:index"]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        names += [f"{prefix}_changelist", f"{prefix}_add"]
    return names


def project_url_names() -> list[str]:
    """Every URL of the project by name (by route where it has none), from the resolver."""

    def walk(patterns, namespace=None):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.app_name == "admin":
                    yield from _admin_url_names()
                    continue
                yield from walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern):
                if entry.name:
                    yield f"{namespace}:{entry.name}" if namespace else entry.name
                else:
                    yield str(entry.pattern)

    return list(walk(get_resolver().url_patterns))


URL_NAMES = project_url_names()


def test_every_url_is_in_the_expectations():
    assert len(URL_NAMES) == len(set(URL_NAMES))
    assert set(URL_NAMES) == set(EXPECTED), "a new URL needs its access expectations"


def test_the_resolver_lists_the_main_pages():
    # Guards the walk itself: a walk that found nothing would pass the test above with an
    # empty table.
    assert {
        "dashboard",
        "numbers:list",
        "numbers:detail",
        "billing:transactions",
        "sync_runs",
        "favicon.ico",
        "admin:index",
        "admin:numbers_phonenumber_changelist",
    } <= set(URL_NAMES)


@pytest.fixture
def objects(db):
    """Real objects for the URLs' arguments. The account is at a provider whose labels stay
    in the portal, and the order is settled, so no request of the matrix goes upstream."""
    account = ProviderAccountFactory(
        provider=ProviderFactory(slug="ravan"), base_url="http://127.0.0.1:1/ravan/api/v1"
    )
    number = PhoneNumberFactory(account=account)
    order = order_for(number, state=NumberOrder.State.COMPLETED)
    webhook = WebhookEndpointFactory(url="http://127.0.0.1:1/hook")
    rule = Rule.objects.get(kind=Rule.Kind.UNKNOWN_PURCHASES)
    alert = AlertFactory(rule=rule, account=account, subject=f"order:{order.pk}")
    return {
        "number": number,
        "order": order,
        "account": account,
        "webhook": webhook,
        "alert": alert,
        "rule": rule,
    }


def url_for(name, objects) -> str:
    if not name.startswith("admin:") and ":" not in name and "." in name:
        return f"/{name}"  # an unnamed URL, by its route
    return url_of(name, **objects)


def log_in_as(client, role):
    if role == "anonymous":
        return
    groups = {"support": [SUPPORT], "finance": [FINANCE]}.get(role, [])
    superuser = role in ("admin", "inactive")
    user = UserFactory(
        username=f"matrix-{role}",
        groups=groups,
        is_staff=superuser,
        is_superuser=superuser,
        is_active=role != "inactive",
    )
    client.force_login(user)


def expected_answers(name, role) -> dict:
    expected = EXPECTED[name]
    return expected.answers(role) if isinstance(expected, Access) else expected[role]


def check_answer(response, expected, name, role, method):
    where = f"{method} {name} as {role}"
    if expected == LOGIN:
        assert response.status_code == 302, where
        assert response.url.startswith(reverse("login") + "?next="), where
    elif expected == ADMIN_LOGIN:
        assert response.status_code == 302, where
        assert response.url.startswith(reverse("admin:login") + "?next="), where
    else:
        assert response.status_code == expected, where
        if expected == 403 and method != "HEAD":
            assert b"You may not open this page" in response.content, where


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", URL_NAMES)
def test_access_matrix(client, objects, name, role):
    log_in_as(client, role)
    url = url_for(name, objects)
    answers = expected_answers(name, role)
    for method in METHODS:
        # The test client raises a view's exception rather than answer 500: never a 500.
        response = client.generic(method, url)
        check_answer(response, answers.get(method, 405), name, role, method)
        if method == "HEAD":
            assert response.content == b"", name


def test_an_inactive_users_session_counts_as_logged_out(client, db):
    user = UserFactory(username="gone", is_staff=True, is_superuser=True, is_active=False)
    # force_login writes the session whatever the flag; ModelBackend then refuses to load
    # the user from it, so each request is anonymous.
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert ModelBackend().get_user(user.pk) is None
    response = client.get(reverse("numbers:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert response.wsgi_request.user.is_anonymous


def test_an_inactive_user_cannot_log_in(client, db):
    UserFactory(username="gone", is_active=False)
    response = client.post(
        reverse("login"), {"username": "gone", "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    assert response.wsgi_request.user.is_anonymous
    assert get_user_model().objects.get(username="gone").last_login is None


def test_login_and_health_are_public(client, db):
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("health")).json() == {"status": "ok"}


# The Billing dropdown's entries.
BILLING_NAV = ["Transactions", "Balances", "Spend", "Service plans"]
# The Alerts dropdown's entries: the history for both roles, the rules for admins.
ALERTS_NAV = ["Alerts", "Alert history"]


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        (
            "support_user",
            ["Dashboard", "Numbers", "Buy numbers", "Orders", "Idle numbers", "Sync", *ALERTS_NAV],
            ["Billing", *BILLING_NAV, "Admin", "Alert rules", "Webhooks"],
        ),
        (
            "finance_user",
            [
                *("Dashboard", "Numbers", "Orders", "Idle numbers", "Billing", *BILLING_NAV),
                *("Sync", *ALERTS_NAV),
            ],
            ["Buy numbers", "Admin", "Alert rules", "Webhooks"],
        ),
        (
            "plain_user",
            ["Dashboard"],
            [
                *("Numbers", "Buy numbers", "Orders", "Idle numbers", "Billing"),
                *BILLING_NAV,
                *("Sync", "Admin", *ALERTS_NAV, "Alert rules", "Webhooks"),
            ],
        ),
        (
            "admin_user",
            [
                "Dashboard",
                "Numbers",
                "Buy numbers",
                "Orders",
                "Idle numbers",
                "Billing",
                *BILLING_NAV,
                "Sync",
                *ALERTS_NAV,
                "Alert rules",
                "Admin",
                "Webhooks",
            ],
            [],
        ),
    ],
)
def test_navigation_shows_each_role_only_what_it_may_use(
    client, db, request, role, visible, hidden
):
    client.force_login(request.getfixturevalue(role))
    html = client.get(reverse("dashboard")).content.decode()
    nav = html[html.index('data-testid="main-nav"') : html.index('data-testid="user-menu"')]
    for label in visible:
        assert f"</i>{label}" in nav, label
    for label in hidden:
        assert f"</i>{label}" not in nav, label


def test_the_alert_pages_sit_together_in_one_dropdown(rf, admin_user):
    request = rf.get("/alerts/rules/")
    request.user = admin_user
    (alerts,) = [entry for entry in items_for(request) if entry["label"] == "Alerts"]
    assert alerts["icon"] == "bell" and alerts["active"]
    children = {child["label"]: child for child in alerts["children"]}
    assert list(children)[:2] == ["Alert history", "Alert rules"]
    # The most specific section is the one marked: the rules, not the history too.
    assert children["Alert rules"]["active"] and not children["Alert history"]["active"]
    # The profile page, under /alerts/ too, is none of the menu's.
    request = rf.get("/alerts/profile/")
    request.user = admin_user
    (alerts,) = [entry for entry in items_for(request) if entry["label"] == "Alerts"]
    assert not alerts["active"]
    request = rf.get("/alerts/12/")
    request.user = admin_user
    (alerts,) = [entry for entry in items_for(request) if entry["label"] == "Alerts"]
    assert alerts["active"] and alerts["children"][0]["active"]


def test_unknown_page_gets_the_styled_404(client, support_user):
    client.force_login(support_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"This page does not exist" in response.content


def test_server_error_page_renders_without_request_or_database(client):
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html


def test_logout_is_post_only_and_says_so(client, support_user):
    client.force_login(support_user)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert b"You are signed out." in response.content
    assert client.get(reverse("dashboard")).status_code == 302
