"""Searching and buying numbers against the sandbox over real HTTP: the search asks every
account at once and survives a failing or slow provider; a purchase happens once per
idempotency key; refusals are clear and own nothing; an unknown outcome is reconciled."""

import re
import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from numbers.filters import PhoneNumberFilter
from numbers.forms import NumberSearchForm
from numbers.models import FeeSource, NumberOrder, PhoneNumber
from numbers.selectors import offers, search
from numbers.services import orders, purchase, reconcile
from portal.models import AuditEvent, ProviderAccount, SyncRun
from portal.providers.base import AvailableNumber, SearchQuery
from portal.providers.sandbox import build_app
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from portal.services.sync import sync_account
from portal.settings import UPSTREAM_RETRY as PRODUCTION_RETRY
from tests.support.market import (
    HTMX_DIALOG,
    confirm,
    offer_token,
    with_fault_on_writes,
)
from tests.support.world import SLUGS

KEY_INPUT = re.compile(r'name="idempotency_key" value="([0-9a-f-]+)"')


class Gate:
    """WSGI wrapper that holds each request until `wanted` are in flight together (or
    `patience` seconds pass), and remembers the most it saw at once."""

    def __init__(self, app, wanted: int, patience: float):
        self.app, self.wanted, self.patience = app, wanted, patience
        self.now = self.most = 0
        self.condition = threading.Condition()

    def __call__(self, environ, start_response):
        with self.condition:
            self.now += 1
            self.most = max(self.most, self.now)
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.most >= self.wanted, timeout=self.patience)
        try:
            return self.app(environ, start_response)
        finally:
            with self.condition:
                self.now -= 1


def providers_of(offers):
    return {offer.account.provider.slug for offer in offers}


# --- Search -----------------------------------------------------------------------------


def test_search_asks_all_four_providers_and_prices_keep_their_currency(market):
    results = search.search_numbers(SearchQuery(country="US"))

    assert results.failures == []
    assert providers_of(results.offers) == set(SLUGS)
    vobiz = [o for o in results.offers if o.account.provider.slug == "vobiz"]
    assert {o.available.currency for o in vobiz} == {"INR"}
    assert all(isinstance(o.available.monthly_fee, Decimal) for o in results.offers)


def test_search_page_shows_every_provider_side_by_side(client, support_user, market):
    client.force_login(support_user)
    response = client.get(reverse("numbers:search"), {"country": "US", "sort": "monthly"})

    html = response.content.decode()
    assert response.status_code == 200
    for slug in SLUGS:
        assert f'data-provider="{slug}"' in html
    assert "150.00 INR" in html and "0.99 USD" in html
    assert html.count('data-bs-target="#buy-dialog"') == len(response.context["results"].offers)


def test_a_failing_provider_shows_its_error_and_the_others_still_show(client, support_user, market):
    with SandboxThread(build_app(market.state, FaultConfig(rate=1.0, retry_after="0"))) as bad:
        market.point("ravan", bad)
        client.force_login(support_user)
        response = client.get(reverse("numbers:search"), {"country": "US"})

    results = response.context["results"]
    assert [failure.account.provider.slug for failure in results.failures] == ["ravan"]
    assert providers_of(results.offers) == {"audian", "tryvox", "vobiz"}
    html = response.content.decode()
    assert 'data-testid="provider-error"' in html
    assert html.index("Ravan voice agents</strong>") < html.index('data-testid="search-results"')


def test_a_provider_that_cannot_be_reached_is_reported_at_once(settings, market):
    # With the retries production makes (the test settings make none), a refused
    # connection must still not wait out the search's timeout.
    settings.UPSTREAM_RETRY = PRODUCTION_RETRY
    with SandboxThread(build_app(market.state)) as gone:
        pass  # a port nothing listens on any more
    market.point("audian", gone)

    started = time.monotonic()
    results = search.search_numbers(SearchQuery(country="US"))
    elapsed = time.monotonic() - started

    (failure,) = results.failures
    assert (failure.account.provider.slug, failure.error) == (
        "audian",
        "Audian could not be reached (connection refused)",
    )
    assert elapsed < 2, f"took {elapsed:.1f} s"
    assert providers_of(results.offers) == {"ravan", "tryvox", "vobiz"}


def test_a_slow_provider_times_out_and_the_others_still_show(settings, market):
    settings.NUMBER_SEARCH_TIMEOUT = 2
    answer = threading.Event()  # TryVox answers only once the search has given up on it

    def stalled(environ, start_response):
        answer.wait(timeout=30)
        return app(environ, start_response)

    app = build_app(market.state)
    with SandboxThread(stalled) as slow:
        market.point("tryvox", slow)
        try:
            results = search.search_numbers(SearchQuery(country="US"))
        finally:
            answer.set()

    (failure,) = results.failures
    assert (failure.account.provider.slug, failure.error) == (
        "tryvox",
        "No answer within 2 seconds.",
    )
    assert providers_of(results.offers) == {"audian", "ravan", "vobiz"}


@pytest.mark.parametrize(
    ("workers", "wanted", "patience", "most"),
    [
        (4, 4, 10, 4),  # all four providers are asked at the same moment
        (2, 3, 1, 2),  # a third request waits for a free worker: it never comes in time
    ],
)
def test_providers_are_asked_at_once_in_a_bounded_pool(
    settings, market, workers, wanted, patience, most
):
    settings.NUMBER_SEARCH_WORKERS = workers
    gate = Gate(build_app(market.state), wanted, patience)
    with SandboxThread(gate) as url:
        for slug in SLUGS:
            market.point(slug, url)
        results = search.search_numbers(SearchQuery(country="US"))

    assert results.failures == []
    assert gate.most == most


def test_offers_sort_by_price_within_each_currency_unquoted_fees_last():
    account = ProviderAccount(name="any")
    fees = {
        "+14155550001": ("USD", Decimal("2"), Decimal("1.99")),
        "+14155550002": ("USD", None, Decimal("0.99")),
        "+911800000001": ("INR", Decimal("500"), Decimal("1000")),
        "+14155550003": ("USD", Decimal("0"), Decimal("1.25")),
    }
    offers = [
        search.Offer(account, AvailableNumber(number, currency, setup_fee=setup, monthly_fee=month))
        for number, (currency, setup, month) in fees.items()
    ]

    def order(sort):
        return [offer.available.number for offer in search.sort_offers(offers, sort)]

    # Grouped by currency (INR, then USD); amounts are compared only within a currency.
    assert order("monthly") == ["+911800000001", "+14155550002", "+14155550003", "+14155550001"]
    assert order("-monthly") == ["+911800000001", "+14155550001", "+14155550003", "+14155550002"]
    assert order("setup") == ["+911800000001", "+14155550003", "+14155550001", "+14155550002"]
    assert order("-setup") == ["+911800000001", "+14155550001", "+14155550003", "+14155550002"]


# --- Purchase -----------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_a_purchase_owns_the_number_at_once_with_its_label(market, support_user, slug):
    available = market.offer(slug, "IN" if slug == "vobiz" else "US")

    order = market.buy(slug, available, label="Acme hotline", user=support_user)

    assert order.state == NumberOrder.State.COMPLETED, order.error_message
    number = order.phone_number
    assert (number.number, number.account, number.status) == (
        available.number,
        market.accounts[slug],
        PhoneNumber.Status.ACTIVE,
    )
    assert number.label == "Acme hotline"
    assert number.currency == available.currency
    # The price as quoted, per the provider's period (Ravan's 28 days), and its source.
    assert number.period_fee == available.monthly_fee
    assert number.monthly_fee_source == FeeSource.PURCHASE
    assert number.purchased_at is not None
    assert market.purchases(slug) == 1
    event = AuditEvent.objects.get(action=AuditEvent.Action.PURCHASE)
    assert (event.actor, event.object_id) == (support_user, str(number.pk))
    assert event.after["state"] == "completed" and event.after["label"] == "Acme hotline"


def test_the_same_key_twice_is_one_order_and_one_upstream_purchase(market):
    key = uuid.uuid4()
    available = market.offer("tryvox")

    first = market.buy("tryvox", available, key=key)
    again = market.buy("tryvox", available, key=key)

    assert again.pk == first.pk and again.state == NumberOrder.State.COMPLETED
    assert market.purchases("tryvox") == 1
    assert NumberOrder.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PURCHASE).count() == 1


def test_a_confirmation_still_in_flight_is_not_sent_again(client, support_user, market):
    """Two requests with one key at the same moment: the database lets one create the
    order; the other finds it submitted and answers with it, never calling the upstream."""
    available = market.offer("audian")
    token = offers.offer_token(market.accounts["audian"], available)
    key = uuid.uuid4()
    in_flight = NumberOrder.objects.create(
        idempotency_key=key,
        account=market.accounts["audian"],
        number=available.number,
        currency="USD",
        state=NumberOrder.State.SUBMITTED,
    )
    client.force_login(support_user)

    again = market.buy("audian", available, key=key)
    response = confirm(client, token, key, **HTMX_DIALOG)

    assert (again.pk, again.state) == (in_flight.pk, NumberOrder.State.SUBMITTED)
    assert 'data-testid="purchase-in-progress"' in response.content.decode()
    assert market.purchases("audian") == 0
    assert NumberOrder.objects.count() == 1


def test_another_open_order_for_the_number_is_refused_before_the_upstream(market):
    available = market.offer("audian")
    NumberOrder.objects.create(
        idempotency_key=uuid.uuid4(),
        account=market.accounts["audian"],
        number=available.number,
        currency="USD",
        state=NumberOrder.State.SUBMITTED,
    )

    with pytest.raises(purchase.OrderInProgress, match="already in progress"):
        market.buy("audian", available)

    assert market.purchases("audian") == 0


# Not E.164: spaces, no "+", letters, too short for the database's check.
MALFORMED_NUMBERS = ("+1 415 555 0100", "14155550100", "+1415555O100", "+1415")


@pytest.mark.parametrize("number", MALFORMED_NUMBERS)
def test_a_malformed_number_is_refused_as_such_before_any_order(market, number):
    available = replace(market.offer("audian"), number=number)

    with pytest.raises(purchase.InvalidOfferNumber) as refused_number:
        market.buy("audian", available)

    assert str(refused_number.value) == f"{number} is not a valid E.164 number."
    assert NumberOrder.objects.count() == 0
    assert market.purchases("audian") == 0


def test_a_database_refusal_other_than_an_open_order_is_not_called_in_progress(market):
    # The currency's check constraint, not the open-order one: a bug to surface, not a
    # purchase someone else has under way.
    available = replace(market.offer("audian"), currency="usd")

    with pytest.raises(IntegrityError):
        market.buy("audian", available)

    assert NumberOrder.objects.count() == 0
    assert market.purchases("audian") == 0


def refused(order):
    """The order failed, and nothing was recorded as owned."""
    assert order.state == NumberOrder.State.FAILED
    assert order.finished_at is not None and order.phone_number is None
    assert not PhoneNumber.objects.filter(number=order.number).exists()
    return order.error_code, order.error_message


def test_not_enough_credit_says_the_balance_and_the_price(market):
    market.state.set_balance(market.upstream("audian"), "0.5")

    order = market.buy("audian")

    assert refused(order) == (
        "no_credit",
        "Not enough credit on Audian sandbox: balance 0.50 USD, needed 0.99 USD.",
    )
    assert market.purchases("audian") == 0
    event = AuditEvent.objects.get(action=AuditEvent.Action.PURCHASE)
    assert event.object_id == str(order.pk) and event.after["state"] == "failed"


def test_a_number_just_taken_says_so(market):
    available = market.offer("ravan")
    market.take_upstream("ravan", available.number)

    assert refused(market.buy("ravan", available)) == (
        "taken",
        "This number was just taken: choose another one.",
    )


def test_a_region_the_account_may_not_buy_in_says_so(market):
    available = market.offer("vobiz", "US")  # the demo Vobiz account buys only in India

    assert refused(market.buy("vobiz", available)) == (
        "region",
        "Numbers in US are not enabled on Vobiz India.",
    )


def test_an_invalid_number_says_so(market):
    available = market.offer("tryvox")
    # TryVox checks the number against the country sent with it.
    code, message = refused(market.buy("tryvox", replace(available, country="GB")))

    assert code == "invalid_number"
    assert message.startswith("Tryvox says +1 ") and message.endswith("is not a valid number.")


def test_a_changed_price_buys_nothing(market):
    # Ravan sells at the price its search quoted, echoed back (ravan.md §2.4).
    available = market.offer("ravan")
    market.state.data["inventory"]["ravan"][available.number]["monthly_fee"] = "1.4000"

    assert refused(market.buy("ravan", available))[0] == "price_changed"
    assert market.purchases("ravan") == 0


def test_a_provider_that_cannot_be_reached_fails_cleanly(market):
    available = market.offer("audian")
    with SandboxThread(build_app(market.state)) as gone:
        pass
    market.point("audian", gone)

    assert refused(market.buy("audian", available)) == (
        "provider_down",
        "Audian could not be reached: nothing was bought.",
    )


# --- Unknown outcomes and their reconciliation ------------------------------------------


def buy_through_faulty_writes(market, slug, fault, available, **buy):
    """Buy `available` through a server that applies `fault` to every write; the server is
    gone afterwards, and the account still points at it."""
    with SandboxThread(with_fault_on_writes(build_app(market.state), fault)) as url:
        market.point(slug, url)
        return market.buy(slug, available, **buy)


def test_a_purchase_with_no_answer_is_unknown_then_check_again_completes_it(
    client, market, support_user
):
    available = market.offer("audian")
    order = buy_through_faulty_writes(
        market, "audian", "drop-after-apply", available, label="Front desk", user=support_user
    )

    assert order.state == NumberOrder.State.UNKNOWN
    assert order.finished_at is None and order.phone_number is None
    assert "did not confirm the purchase" in order.error_message
    assert not PhoneNumber.objects.filter(number=available.number).exists()
    assert market.purchases("audian") == 1  # the sandbox applied it, then hung up

    market.point("audian", market.url)
    client.force_login(support_user)
    response = client.post(reverse("numbers:order_check", args=[order.pk]))

    order.refresh_from_db()
    assert order.state == NumberOrder.State.COMPLETED
    assert response.url == order.phone_number.get_absolute_url()
    assert order.phone_number.label == "Front desk"
    assert order.phone_number.monthly_fee == available.monthly_fee
    assert market.purchases("audian") == 1
    reconciled = AuditEvent.objects.filter(action=AuditEvent.Action.PURCHASE).latest("id")
    assert reconciled.after["reconciled"] is True and reconciled.actor == support_user


def test_an_unknown_purchase_is_settled_by_the_next_sync(market):
    available = market.offer("vobiz", "IN")
    order = buy_through_faulty_writes(
        market, "vobiz", "drop-after-apply", available, label="Bengaluru desk"
    )
    assert order.state == NumberOrder.State.UNKNOWN
    market.point("vobiz", market.url)

    run = sync_account(market.accounts["vobiz"], SyncRun.Kind.NUMBERS)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    order.refresh_from_db()
    assert order.state == NumberOrder.State.COMPLETED
    assert order.phone_number.label == "Bengaluru desk"
    assert market.purchases("vobiz") == 1


def test_orders_abandoned_in_flight_are_settled_by_the_next_sync(market):
    """Their requests died (a killed worker, the database gone) and left them open: the
    sync closes them, so the numbers can be bought again, and nothing is bought twice."""
    account = market.accounts["audian"]
    offers = search.search_numbers(SearchQuery(country="US")).offers
    applied, never_sent, recent, fourth = [o.available for o in offers if o.account == account][:4]
    market.state.buy(market.upstream("audian"), applied.number)  # the upstream applied it
    long_ago = timezone.now() - orders.ABANDONED_ORDER_AFTER - timedelta(minutes=1)

    def open_order(available, state, when):
        order = NumberOrder.objects.create(
            idempotency_key=uuid.uuid4(),
            account=account,
            number=available.number,
            currency=available.currency,
            monthly_fee=available.monthly_fee,
            state=state,
            submitted_at=when if state == NumberOrder.State.SUBMITTED else None,
        )
        NumberOrder.objects.filter(pk=order.pk).update(created_at=when)
        return order

    submitted = open_order(applied, NumberOrder.State.SUBMITTED, long_ago)
    pending = open_order(never_sent, NumberOrder.State.PENDING, long_ago)
    in_flight = open_order(recent, NumberOrder.State.SUBMITTED, timezone.now())
    recent_pending = open_order(fourth, NumberOrder.State.PENDING, timezone.now())

    run = sync_account(account, SyncRun.Kind.NUMBERS)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    for order in (submitted, pending, in_flight, recent_pending):
        order.refresh_from_db()
    assert submitted.state == NumberOrder.State.COMPLETED
    assert submitted.phone_number.number == applied.number
    assert (pending.state, pending.error_code) == (NumberOrder.State.FAILED, "not_sent")
    assert in_flight.state == NumberOrder.State.SUBMITTED  # may still be answered
    assert recent_pending.state == NumberOrder.State.PENDING  # about to be sent
    assert market.purchases("audian") == 1
    # The number of the order never sent can be bought now.
    assert market.buy("audian", never_sent).state == NumberOrder.State.COMPLETED


def test_a_5xx_after_sending_is_unknown_and_settles_as_not_bought(market):
    available = market.offer("ravan")
    order = buy_through_faulty_writes(market, "ravan", "503", available)
    assert order.state == NumberOrder.State.UNKNOWN  # a 5xx may follow an applied write
    market.point("ravan", market.url)

    settled = reconcile.reconcile_order(NumberOrder.objects.get(pk=order.pk))

    assert refused(settled) == (
        "not_bought",
        "Ravan does not list this number on Ravan voice agents: nothing was bought.",
    )
    assert market.purchases("ravan") == 0


def test_a_sync_that_cannot_reach_the_provider_leaves_the_order_unknown(market):
    available = market.offer("tryvox")
    order = buy_through_faulty_writes(
        market, "tryvox", "drop-after-apply", available
    )  # and the provider is gone

    run = sync_account(market.accounts["tryvox"], SyncRun.Kind.NUMBERS)

    assert run.status == SyncRun.Status.FAILED
    order.refresh_from_db()
    assert order.state == NumberOrder.State.UNKNOWN
    assert not PhoneNumber.objects.filter(number=available.number).exists()


def test_a_sync_without_unknown_orders_asks_the_upstream_nothing_more(market):
    counts = reconcile.reconcile_unknown_orders(market.accounts["audian"], None, now=timezone.now())

    assert counts.from_upstream is False and counts.updated == 0


# --- The buy confirmation and its permissions ---------------------------------------------


def test_the_confirmation_shows_fees_balance_and_a_fresh_key(client, support_user, market):
    _, token = offer_token(market, "tryvox")
    client.force_login(support_user)

    first = client.get(reverse("numbers:buy"), {"offer": token}, **HTMX_DIALOG)
    second = client.get(reverse("numbers:buy"), {"offer": token}, **HTMX_DIALOG)

    html = first.content.decode()
    assert "<html" not in html and 'class="modal-header"' in html
    assert "TryVox global" in html
    assert "1.25 USD" in html  # the monthly fee
    assert "150.00 USD" in html and "148.75 USD" in html  # balance before and after
    keys = [KEY_INPUT.search(r.content.decode()).group(1) for r in (first, second)]
    assert uuid.UUID(keys[0]) != uuid.UUID(keys[1])
    assert market.purchases("tryvox") == 0


def test_confirming_twice_and_resubmitting_lands_on_the_number_once(client, support_user, market):
    available, token = offer_token(market, "audian")
    client.force_login(support_user)
    key = uuid.uuid4()

    responses = [confirm(client, token, key, "Sales", **HTMX_DIALOG) for _ in range(2)]
    resubmitted = confirm(client, token, key, "Sales")  # the plain form, sent again

    number = PhoneNumber.objects.get(number=available.number)
    assert [r["HX-Redirect"] for r in responses] == [number.get_absolute_url()] * 2
    assert (resubmitted.status_code, resubmitted.url) == (302, number.get_absolute_url())
    assert market.purchases("audian") == 1
    assert number.label == "Sales"


def test_a_refusal_is_shown_in_the_dialog_at_the_number(client, support_user, market):
    market.state.set_balance(market.upstream("ravan"), "0")
    available, token = offer_token(market, "ravan")
    client.force_login(support_user)

    response = confirm(client, token, uuid.uuid4(), **HTMX_DIALOG)

    html = response.content.decode()
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert 'data-testid="purchase-error"' in html
    assert "Not enough credit on Ravan voice agents: balance 0.00 USD, needed 1.15 USD." in html
    assert available.number[2:5] in html  # the dialog names the number


@pytest.mark.parametrize("headers", [HTMX_DIALOG, {}], ids=["dialog", "page"])
def test_a_forged_offer_of_a_malformed_number_says_so_at_the_number(
    client, support_user, market, headers
):
    available = replace(market.offer("audian"), number="+1 415 555 0100")
    token = offers.offer_token(market.accounts["audian"], available)
    client.force_login(support_user)

    response = confirm(client, token, uuid.uuid4(), **headers)

    html = response.content.decode()
    assert response.status_code == (200 if headers else 400)
    assert "+1 415 555 0100 is not a valid E.164 number." in html
    assert "in progress" not in html
    assert html.index("+1 415") < html.index("is not a valid E.164 number")  # at the number
    assert NumberOrder.objects.count() == 0 and market.purchases("audian") == 0


def test_a_label_too_long_is_shown_in_place_and_buys_nothing(client, support_user, market):
    _, token = offer_token(market, "audian")
    client.force_login(support_user)

    response = confirm(client, token, uuid.uuid4(), "x" * 256, **HTMX_DIALOG)

    html = response.content.decode()
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert 'class="form-control is-invalid"' in html
    assert "Ensure this value has at most 255 characters (it has 256)." in html
    assert NumberOrder.objects.count() == 0 and market.purchases("audian") == 0


@pytest.mark.parametrize("token", ["", "not-a-token", "tampered"])
def test_a_damaged_or_missing_offer_is_a_clear_bad_request(client, support_user, market, token):
    if token == "tampered":
        token = offer_token(market, "audian")[1][:-3] + "abc"
    client.force_login(support_user)

    response = client.get(reverse("numbers:buy"), {"offer": token})
    posted = confirm(client, token, uuid.uuid4())

    assert response.status_code == posted.status_code == 400
    assert b"Search again to buy a number." in response.content
    assert NumberOrder.objects.count() == 0


def test_an_old_offer_is_searched_again(client, support_user, market, monkeypatch):
    _, token = offer_token(market, "audian")
    client.force_login(support_user)
    monkeypatch.setattr(offers, "OFFER_MAX_AGE", -1)  # every token is now too old

    response = confirm(client, token, uuid.uuid4())

    assert response.status_code == 400
    assert b"more than an hour old" in response.content


def test_finance_sees_no_buying_and_is_refused_every_buying_action(client, finance_user, market):
    _, token = offer_token(market, "audian")
    client.force_login(finance_user)
    order = NumberOrder.objects.create(
        idempotency_key=uuid.uuid4(),
        account=market.accounts["audian"],
        number="+14155550100",
        currency="USD",
        state=NumberOrder.State.UNKNOWN,
    )

    assert client.get(reverse("numbers:search"), {"country": "US"}).status_code == 403
    assert client.get(reverse("numbers:buy"), {"offer": token}).status_code == 403
    assert confirm(client, token, uuid.uuid4()).status_code == 403
    assert client.post(reverse("numbers:order_check", args=[order.pk])).status_code == 403
    assert market.purchases("audian") == 0
    assert NumberOrder.objects.count() == 1
    order.refresh_from_db()
    assert order.state == NumberOrder.State.UNKNOWN


def test_search_form_errors_show_in_place_and_htmx_gets_only_the_search(
    client, support_user, market
):
    client.force_login(support_user)
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "number-search"}

    bad = client.get(reverse("numbers:search"), {"country": "ZZ", "contains": "abc"}, **htmx)
    good = client.get(reverse("numbers:search"), {"country": "US"}, **htmx)

    html = bad.content.decode()
    assert bad.status_code == 200 and 'data-testid="search-results"' not in html
    assert html.lstrip().startswith('<div id="number-search"') and "<nav" not in html
    assert "Enter digits, e.g. 555 or 415 555." in html
    assert "Select a valid choice." in html
    assert good.content.decode().lstrip().startswith('<div id="number-search"')
    assert "HX-Request" in good["Vary"]


# --- Issue 17 (7): the search form, country refusals and offer descriptions --------------


@pytest.mark.parametrize("area", ["abc!", "41-5a", "CA;DROP", "<b>", "415*"])
def test_an_area_that_is_no_area_code_or_region_is_refused_before_any_provider(
    client, support_user, market, monkeypatch, area
):
    """`abc!` reached every provider and came back as "bad pattern" from each."""
    monkeypatch.setattr(search, "ask_accounts", lambda *args, **kwargs: pytest.fail("asked"))
    client.force_login(support_user)

    response = client.get(reverse("numbers:search"), {"country": "US", "area": area})

    assert response.status_code == 200
    assert response.context["results"] is None
    assert response.context["form"].errors["area"] == [
        "Enter an area code (digits, e.g. 415) or a region (letters, e.g. CA or Karnataka)."
    ]
    assert 'data-testid="provider-error"' not in response.content.decode()


@pytest.mark.parametrize(
    ("area", "searched"),
    [
        ("415", "415"),
        (" (415) ", "415"),
        ("CA", "CA"),
        ("New York", "New York"),
        ("Île-de-France", "Île-de-France"),
        ("St. John's", "St. John's"),
    ],
)
def test_area_codes_and_region_names_are_searched(area, searched):
    form = NumberSearchForm({"country": "US", "area": area})
    assert form.is_valid(), form.errors
    assert form.query().area == searched


def test_a_provider_that_does_not_sell_in_a_country_says_so_by_name(client, support_user, market):
    """Ravan answered "Invalid request parameters" for India."""
    client.force_login(support_user)

    response = client.get(reverse("numbers:search"), {"country": "IN"})

    failures = {f.account.provider.slug: f.error for f in response.context["results"].failures}
    assert failures["ravan"] == "Ravan does not sell numbers in India."
    assert "Invalid request parameters" not in response.content.decode()


def test_an_offer_says_each_thing_once(market):
    """ "Toll-free · Toll-free, US · US" named the type and the country twice."""
    results = search.search_numbers(SearchQuery(country="US", number_type="toll_free"))
    audian = [o for o in results.offers if o.account.provider.slug == "audian"]
    assert audian and {offer.available.region for offer in audian} == {"Toll-free, US"}
    assert {offer.description for offer in audian} == {"Toll-free · US"}
    local = search.search_numbers(SearchQuery(country="US", area="415")).offers
    assert "Local · San Francisco, CA · US" in {offer.description for offer in local}


def test_the_country_lists_name_every_country():
    """The search's list showed "AC (AC)" where phonenumbers has no name."""
    search = dict(NumberSearchForm().fields["country"].choices)
    owned = dict(PhoneNumberFilter().form.fields["country"].choices)
    for choices in (search, owned):
        assert choices["AC"] == "Ascension Island (AC)"
        assert choices["IN"] == "India (IN)"
        assert choices["XK"] == "Kosovo (XK)"
        assert not [code for code, name in choices.items() if name.startswith(f"{code} ")]
