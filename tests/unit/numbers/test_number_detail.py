"""A number's page: every field, orders, transactions and history; the inline label edit
(upstream where the provider keeps labels, in the portal elsewhere) and the release, against
the sandbox over real HTTP; and the read-only view with 403s for Finance."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from numbers.models import NumberOrder, PhoneNumber
from numbers.services.labels import LABEL_MAX_LENGTH
from numbers.services.release import typed_number_matches
from portal.models import AuditEvent, SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.factories import (
    AuditEventFactory,
    NumberOrderFactory,
    PhoneNumberFactory,
    TagFactory,
    TransactionFactory,
    order_for,
)
from tests.support.world import World, serve, synced_number

HTMX_LABEL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "label"}
LOCAL_LABEL_PROVIDERS = ["vobiz", "ravan", "tryvox"]
State = NumberOrder.State


@pytest.fixture
def world(db):
    state = build_state(numbers=4, transactions=2, inventory=2)
    with serve(state) as url:
        yield World(state, url)


def upstream_record(world, phone_number, **options) -> dict:
    return world.state.owned_number(
        world.upstream(phone_number.provider.slug), phone_number.number, **options
    )


def label_url(phone_number):
    return reverse("numbers:label", args=[phone_number.pk])


def release_url(phone_number):
    return reverse("numbers:release", args=[phone_number.pk])


# --- the page ---------------------------------------------------------------------------


def test_the_page_shows_every_field_orders_and_history(client, support_user):
    number = PhoneNumberFactory(
        number="+14155550123",
        label="Front desk",
        upstream_label="Reception",
        upstream_id="num_0123",
        region="California",
        mms=True,
        setup_fee=Decimal("1.5"),
        monthly_fee=Decimal("0.0085"),
    )
    number.tags.add(TagFactory(name="acme"))
    order_for(
        number, state=State.COMPLETED, requested_by=support_user, monthly_fee=Decimal("0.0085")
    )
    order_for(number, state=State.FAILED, error_message="Audian: not enough credit")
    AuditEventFactory(
        target=number, actor=support_user, before={"label": ""}, after={"label": "Front desk"}
    )
    client.force_login(support_user)
    html = client.get(number.get_absolute_url()).content.decode()
    for text in (
        "+1 415-555-0123",
        "+14155550123",
        "Front desk",
        "Reception",
        "num_0123",
        "California",
        "VOICE",
        "SMS",
        "MMS",
        "acme",
        "1.50 USD",
        "0.0085 USD",
        "Completed",
        "by sam-support",
        "Audian: not enough credit",
        "Label change",
        "(empty)",
    ):
        assert text in html, text
    assert "Saved at Audian too" not in html  # only in the edit form


def test_history_shows_the_number_and_its_orders_newest_first_with_the_system_as_actor(
    client, support_user
):
    number = PhoneNumberFactory()
    order = order_for(number)
    AuditEventFactory(
        target=order, action=AuditEvent.Action.PURCHASE, before=None, after={"state": "completed"}
    )
    AuditEventFactory(
        target=number,
        actor=None,
        action=AuditEvent.Action.RELEASE,
        before={"status": "active", "released_at": None},
        after={"status": "released", "released_at": "2026-03-01T10:15:00Z"},
    )
    AuditEventFactory(target=PhoneNumberFactory(), after={"label": "Someone else's"})
    client.force_login(support_user)
    html = client.get(number.get_absolute_url()).content.decode()
    history = html[html.index('data-testid="history"') :]
    assert history.index("Release") < history.index("Purchase")
    assert "by the system" in history
    assert "2026-03-01 10:15" in history
    assert "Someone else" not in history
    purchase = history[history.index("Purchase") :]
    assert "completed" in purchase and "→" not in purchase  # facts, not a change


def test_finance_sees_transactions_marked_as_estimates_support_does_not(
    client, support_user, finance_user
):
    number = PhoneNumberFactory()
    TransactionFactory(
        account=number.account, phone_number=number, amount=Decimal("1.15"), is_estimate=True
    )
    TransactionFactory(account=number.account, amount=Decimal("9.99"))  # another number's
    client.force_login(finance_user)
    html = client.get(number.get_absolute_url()).content.decode()
    assert 'data-testid="number-transactions"' in html
    assert "-1.15 USD" in html and "estimated" in html
    assert "9.99" not in html
    assert f"{reverse('billing:transactions')}?account={number.account_id}" in html
    client.force_login(support_user)
    assert "number-transactions" not in client.get(number.get_absolute_url()).content.decode()


def test_the_page_runs_the_same_queries_however_long_its_history(client, finance_user):
    number = PhoneNumberFactory()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(number.get_absolute_url()).status_code == 200
        return len(captured)

    client.force_login(finance_user)
    before = queries()
    for _ in range(5):
        order = NumberOrderFactory(account=number.account, phone_number=number)
        AuditEventFactory(target=order, action=AuditEvent.Action.PURCHASE)
        AuditEventFactory(target=number)
        TransactionFactory(account=number.account, phone_number=number)
    number.tags.add(TagFactory(), TagFactory())
    assert queries() == before


def test_a_missing_number_is_a_404(client, support_user):
    client.force_login(support_user)
    assert client.get(reverse("numbers:detail", args=[999999])).status_code == 404


# --- label edit -------------------------------------------------------------------------


def test_a_label_saved_at_audian_survives_a_reload_and_a_sync(client, support_user, world):
    number = synced_number(world, "audian")
    client.force_login(support_user)
    response = client.post(label_url(number), {"label": "  Night line  "}, **HTMX_LABEL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Label saved, at Audian too." in html
    assert 'hx-swap-oob="true"' in html and "Night line" in html  # the history, refreshed

    assert upstream_record(world, number)["label"] == "Night line"
    number.refresh_from_db()
    assert (number.label, number.upstream_label) == ("Night line", "Night line")
    assert "Night line" in client.get(number.get_absolute_url()).content.decode()

    assert sync_account(world.accounts["audian"]).status == SyncRun.Status.SUCCEEDED
    number.refresh_from_db()
    assert (number.label, number.upstream_label) == ("Night line", "Night line")
    event = AuditEvent.objects.get(action=AuditEvent.Action.LABEL, object_id=str(number.pk))
    assert event.actor == support_user
    assert event.after == {"label": "Night line", "upstream_label": "Night line"}


@pytest.mark.parametrize("slug", LOCAL_LABEL_PROVIDERS)
def test_a_label_kept_in_the_portal_survives_a_sync_and_leaves_the_upstream_alone(
    client, support_user, world, slug
):
    number = synced_number(world, slug)
    upstream_label = upstream_record(world, number)["label"]
    client.force_login(support_user)
    html = client.post(label_url(number), {"label": "Billing desk"}, **HTMX_LABEL)
    html = html.content.decode()
    provider = number.provider.name
    assert f"Label saved in the portal only: {provider} has no labels the portal can set." in html

    assert sync_account(world.accounts[slug]).status == SyncRun.Status.SUCCEEDED
    number.refresh_from_db()
    assert number.label == "Billing desk"
    assert number.upstream_label == upstream_record(world, number)["label"] == upstream_label
    page = client.get(number.get_absolute_url()).content.decode()
    assert "Billing desk" in page
    assert f"Kept in the portal: {provider} has no labels the portal can set." in page
    event = AuditEvent.objects.get(action=AuditEvent.Action.LABEL, object_id=str(number.pk))
    assert (event.before, event.after) == ({"label": ""}, {"label": "Billing desk"})


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("x" * (LABEL_MAX_LENGTH + 1), f"at most {LABEL_MAX_LENGTH} characters"),
        ("two\nlines", "without tabs or line breaks"),
    ],
)
def test_an_invalid_label_is_refused_in_place_and_nothing_changes(
    client, support_user, typed, message
):
    number = PhoneNumberFactory(label="Old")
    client.force_login(support_user)
    response = client.post(label_url(number), {"label": typed}, **HTMX_LABEL)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html and 'aria-invalid="true"' in html
    assert "<form" in html and "<html" not in html  # the partial, the form still open
    number.refresh_from_db()
    assert number.label == "Old"
    assert not AuditEvent.objects.exists()


def test_an_unchanged_label_is_not_pushed_or_audited(client, support_user, world):
    number = synced_number(world, "vobiz")
    number.label = "Same"
    number.save()
    client.force_login(support_user)
    html = client.post(label_url(number), {"label": "Same "}, **HTMX_LABEL).content.decode()
    assert "The label is unchanged." in html
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LABEL).exists()


def test_an_upstream_refusal_shows_in_place_and_keeps_the_old_label(client, support_user, world):
    number = synced_number(world, "audian")
    before = (number.label, number.upstream_label)
    # Gone upstream since the last sync: Audian answers 404 to the label change.
    world.state.release(world.upstream("audian"), number.number)
    client.force_login(support_user)
    html = client.post(label_url(number), {"label": "Lost"}, **HTMX_LABEL).content.decode()
    assert "Audian does not list this number on the account any more." in html
    assert "The label is unchanged." in html
    assert 'value="Lost"' in html  # what was typed is still there to retry
    number.refresh_from_db()
    assert (number.label, number.upstream_label) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LABEL).exists()


def test_an_unreachable_provider_is_said_plainly(client, support_user, world):
    number = synced_number(world, "audian")
    account = number.account
    account.base_url = "http://127.0.0.1:9/audian/v2"  # discard port: nothing listens
    account.save()
    client.force_login(support_user)
    html = client.post(label_url(number), {"label": "Later"}, **HTMX_LABEL).content.decode()
    assert "Audian is not answering right now" in html
    assert "Try again in a minute." in html
    number.refresh_from_db()
    assert number.label != "Later"


def test_without_javascript_the_label_edit_is_a_form_on_the_page(client, support_user):
    number = PhoneNumberFactory(provider__slug="ravan", account__provider__slug="ravan")
    client.force_login(support_user)
    page = client.get(label_url(number)).content.decode()
    assert "<html" in page and 'name="label"' in page and "Cancel" in page
    response = client.post(label_url(number), {"label": "Sales"}, follow=True)
    assert response.redirect_chain == [(number.get_absolute_url(), 302)]
    assert (
        "Label saved in the portal only: Ravan has no labels the portal can set."
        in response.content.decode()
    )
    number.refresh_from_db()
    assert number.label == "Sales"


def test_cancelling_an_edit_fetches_the_label_back(client, support_user):
    number = PhoneNumberFactory(label="Kept")
    client.force_login(support_user)
    html = client.get(number.get_absolute_url(), **HTMX_LABEL).content.decode()
    assert "<html" not in html and "<form" not in html
    assert 'data-testid="label-text">Kept<' in html and "data-focus-after-swap" in html


def test_a_released_number_cannot_be_labelled(client, support_user):
    number = PhoneNumberFactory(status=PhoneNumber.Status.RELEASED, released_at="2026-01-02T00:00Z")
    client.force_login(support_user)
    assert client.get(label_url(number)).url == number.get_absolute_url()
    html = client.post(label_url(number), {"label": "Late"}, **HTMX_LABEL).content.decode()
    assert "can no longer be labelled" in html
    number.refresh_from_db()
    assert number.label == ""


# --- release ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "matches"),
    [
        ("+14155550123", True),
        ("+1 415-555-0123", True),
        ("(415) 555-0123", True),
        ("1 415 555 0123", True),
        ("415 555 0124", False),
        ("+44 20 7946 0123", False),
        ("not a number", False),
        ("", False),
    ],
)
def test_the_typed_confirmation_accepts_any_format_of_the_number(typed, matches):
    number = PhoneNumber(number="+14155550123", country="US")
    assert typed_number_matches(number, typed) is matches


def test_release_needs_the_typed_number_then_releases_upstream(client, support_user, world):
    number = synced_number(world, "audian")
    client.force_login(support_user)
    refused = client.post(release_url(number), {"confirmation": "+1 000 000 0000"})
    assert refused.status_code == 200
    assert "That is not this number." in refused.content.decode()
    assert upstream_record(world, number)["status"] == "active"

    national = number.display_number.removeprefix("+1 ")
    response = client.post(release_url(number), {"confirmation": national}, follow=True)
    html = response.content.decode()
    assert f"{number.display_number} is released at Audian." in html
    assert "Release this number" not in html and 'data-testid="edit-label"' not in html
    number.refresh_from_db()
    assert number.status == PhoneNumber.Status.RELEASED and number.released_at is not None
    assert number.number not in {
        r["e164"] for r in world.state.owned_numbers(world.upstream("audian"))
    }
    event = AuditEvent.objects.get(action=AuditEvent.Action.RELEASE, object_id=str(number.pk))
    assert event.actor == support_user
    assert event.before == {"status": "active", "released_at": None}
    assert event.after["status"] == "released"

    # Sync agrees, and a second release is refused before reaching the provider.
    assert sync_account(world.accounts["audian"]).status == SyncRun.Status.SUCCEEDED
    assert client.get(release_url(number)).url == number.get_absolute_url()
    again = client.post(release_url(number), {"confirmation": number.number}).content.decode()
    assert "already been released" in again


def test_an_upstream_release_error_leaves_the_number_held(client, support_user, world):
    number = synced_number(world, "tryvox")
    world.state.release(world.upstream("tryvox"), number.number)  # gone behind our back
    client.force_login(support_user)
    html = client.post(release_url(number), {"confirmation": number.number}).content.decode()
    assert "TryVox does not list this number on the account any more." in html
    assert "The number is still held." in html
    number.refresh_from_db()
    assert number.status == PhoneNumber.Status.ACTIVE
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RELEASE).exists()


# --- Finance: read-only -----------------------------------------------------------------


def test_finance_sees_no_controls_and_is_refused_every_action(client, finance_user):
    number = PhoneNumberFactory(label="Untouchable")
    client.force_login(finance_user)
    html = client.get(number.get_absolute_url()).content.decode()
    assert "Untouchable" in html
    assert label_url(number) not in html and release_url(number) not in html
    assert client.post(label_url(number), {"label": "Mine"}, **HTMX_LABEL).status_code == 403
    assert client.post(label_url(number), {"label": "Mine"}).status_code == 403
    assert client.post(release_url(number), {"confirmation": number.number}).status_code == 403
    number.refresh_from_db()
    assert (number.label, number.status) == ("Untouchable", PhoneNumber.Status.ACTIVE)
    assert not AuditEvent.objects.exists()
