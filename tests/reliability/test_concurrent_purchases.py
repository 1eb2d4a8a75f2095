"""Buying under concurrency, end to end: twenty people (or one person's twenty clicks)
confirming at the same moment, over real HTTP to the live portal, which buys over real HTTP
from the sandbox. However the requests interleave, one number is bought once."""

import re
import threading

import httpx
import pytest
from django.conf import settings

from numbers.models import NumberOrder, PhoneNumber
from numbers.selectors import offers
from portal.benchmark.server import session_cookie
from portal.providers import base as upstream_base
from portal.providers.phone import format_international
from portal.providers.sandbox import build_app
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from tests.support.market import Market, market_state, with_fault_on_writes

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BUYERS = 20
DIALOG = {"HX-Request": "true", "HX-Target": "buy-dialog-content"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY_INPUT = re.compile(r'name="idempotency_key" value="([0-9a-f-]+)"')
ORDER_OUTCOME = re.compile(r'data-testid="order-outcome" data-order="(\d+)"')


@pytest.fixture
def market(db):
    """The sandbox's purchases take a moment (as a real upstream's do), so that confirmations
    sent together are all in flight together."""
    state = market_state()
    app = with_fault_on_writes(build_app(state, FaultConfig()), "delay=0.3")
    with SandboxThread(app) as url:
        yield Market(state, url)


class Buyer:
    """One browser: signed in, with the buy dialog for an offer open."""

    def __init__(self, live_server, user, token: str):
        self.http = httpx.Client(base_url=live_server.url, timeout=30)
        self.http.cookies.set(settings.SESSION_COOKIE_NAME, session_cookie(user))
        self.token = token
        dialog = self.http.get("/numbers/buy/confirm/", params={"offer": token}, headers=DIALOG)
        assert dialog.status_code == 200, dialog.text
        self.csrf = CSRF_INPUT.search(dialog.text).group(1)
        self.key = KEY_INPUT.search(dialog.text).group(1)

    def confirm(self, key: str | None = None) -> httpx.Response:
        return self.http.post(
            "/numbers/buy/confirm/",
            data={
                "csrfmiddlewaretoken": self.csrf,
                "offer": self.token,
                "idempotency_key": key or self.key,
                "label": "Front desk",
            },
            headers={**DIALOG, "Referer": f"{self.http.base_url}/numbers/buy/"},
        )


@pytest.fixture
def open_dialog(live_server):
    """`open_dialog(user, token)`: a new Buyer. Their connections are closed afterwards:
    the live server keeps a database connection per open keep-alive connection."""
    buyers = []

    def open_dialog(user, token) -> Buyer:
        buyers.append(Buyer(live_server, user, token))
        return buyers[-1]

    yield open_dialog
    for buyer in buyers:
        buyer.http.close()


def all_at_once(calls) -> list[httpx.Response]:
    """Run the calls in threads released together; their answers, in order."""
    start = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index, call):
        start.wait()
        try:
            answers[index] = call()
        except Exception as exc:  # reported below, with the others' answers
            answers[index] = exc

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    failures = [answer for answer in answers if not isinstance(answer, httpx.Response)]
    assert not failures, failures
    return answers


def offer(market, slug="audian"):
    available = market.offer(slug)
    return available, offers.offer_token(market.accounts[slug], available)


def test_twenty_confirmations_with_one_key_make_one_purchase_and_one_order(
    open_dialog, market, support_user
):
    available, token = offer(market)
    buyer = open_dialog(support_user, token)  # one dialog, confirmed twenty times

    answers = all_at_once([buyer.confirm] * BUYERS)

    assert market.purchases("audian") == 1
    order = NumberOrder.objects.get()
    assert order.state == NumberOrder.State.COMPLETED
    number_page = order.phone_number.get_absolute_url()
    in_flight = 0
    for answer in answers:
        assert answer.status_code == 200, answer.text
        # Done: htmx is sent to the number's page. Still in flight: the dialog says so and
        # names the same order.
        if "HX-Redirect" in answer.headers:
            assert answer.headers["HX-Redirect"] == number_page
        else:
            assert 'data-testid="purchase-in-progress"' in answer.text
            assert ORDER_OUTCOME.search(answer.text).group(1) == str(order.pk)
            in_flight += 1
    assert in_flight, "the confirmations overlapped the purchase"
    assert PhoneNumber.objects.filter(number=available.number).count() == 1


def test_twenty_buyers_of_one_number_one_gets_it_the_others_are_told_it_is_gone(
    open_dialog, market, support_user
):
    available, token = offer(market)
    buyers = [open_dialog(support_user, token) for _ in range(BUYERS)]
    assert len({buyer.key for buyer in buyers}) == BUYERS  # each dialog has its own key

    answers = all_at_once([buyer.confirm for buyer in buyers])

    assert market.purchases("audian") == 1
    completed = NumberOrder.objects.get(state=NumberOrder.State.COMPLETED)
    winners = [answer for answer in answers if "HX-Redirect" in answer.headers]
    assert [answer.headers["HX-Redirect"] for answer in winners] == [
        completed.phone_number.get_absolute_url()
    ]
    shown = format_international(available.number)
    for answer in answers:
        assert answer.status_code == 200, answer.text
        if answer in winners:
            continue
        # Either the winner's order was still open, or it was done and the upstream said
        # the number is no longer for sale (ours now).
        message = re.search(r'role="(?:status|alert)"[^>]*>(?:<i[^>]*></i>)?([^<]+)', answer.text)
        assert message, answer.text
        assert re.search(r"is already in progress\.$|is already yours on ", message.group(1)), (
            message.group(1)
        )
        assert shown in message.group(1)
    # Nobody else's order went through, and none is left open.
    others = NumberOrder.objects.exclude(pk=completed.pk)
    assert set(others.values_list("state", flat=True)) <= {NumberOrder.State.FAILED}
    assert set(others.values_list("error_code", flat=True)) <= {"owned"}


def test_a_purchase_answered_too_late_is_unknown_then_completed_never_bought_twice(
    open_dialog, market, support_user, monkeypatch
):
    # The upstream applies the purchase, then answers after the portal stopped waiting.
    monkeypatch.setattr(upstream_base, "READ_TIMEOUT", 1.0)
    late = with_fault_on_writes(build_app(market.state), "delay-after-apply=3")
    _, token = offer(market)
    buyer = open_dialog(support_user, token)

    with SandboxThread(late) as url:
        market.point("audian", url)
        answer = buyer.confirm()

    assert answer.status_code == 200
    assert 'data-testid="purchase-unknown"' in answer.text
    order = NumberOrder.objects.get()
    assert order.state == NumberOrder.State.UNKNOWN
    assert market.purchases("audian") == 1

    # Confirming again (a retry, a second click) must not buy it again.
    again = buyer.confirm()
    assert 'data-testid="purchase-unknown"' in again.text
    assert market.purchases("audian") == 1

    # The network is fine again, reads wait as long as usual.
    monkeypatch.undo()
    market.point("audian", market.url)
    checked = buyer.http.post(
        f"/numbers/orders/{order.pk}/check/",
        data={"csrfmiddlewaretoken": buyer.csrf},
        headers={**DIALOG, "Referer": f"{buyer.http.base_url}/numbers/buy/"},
    )

    order.refresh_from_db()
    assert order.state == NumberOrder.State.COMPLETED
    assert checked.headers["HX-Redirect"] == order.phone_number.get_absolute_url()
    assert market.purchases("audian") == 1
    assert NumberOrder.objects.count() == 1
