"""The orders page: recent orders with their state, who, when, price and error; filters;
"Check again" only for unknown orders and only for those who may buy; bounded queries."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from numbers.models import NumberOrder
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.server import SandboxThread
from tests.support.factories import (
    NumberOrderFactory,
    PhoneNumberFactory,
    ProviderAccountFactory,
)
from tests.support.world import World

State = NumberOrder.State
HTMX_TABLE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "table"}
NO_CREDIT = "Not enough credit on Vobiz India: balance 12.00 INR, needed 400.00 INR."


@pytest.fixture
def orders(db, support_user):
    audian = ProviderAccountFactory(name="Audian main")
    vobiz = ProviderAccountFactory(name="Vobiz India", currency="INR")
    owned = PhoneNumberFactory(account=audian, number="+14155550100")
    # What each order holds besides the columns of the table below.
    apart = {
        "completed": {"phone_number": owned, "requested_by": support_user, "setup_fee": Decimal(0)},
        "failed": {
            "error_code": "no_credit",
            "error_message": NO_CREDIT,
            "setup_fee": Decimal(100),
        },
        "unknown": {"error_message": "Audian did not confirm the purchase."},
    }
    return {
        name: NumberOrderFactory(
            account=account,
            number=number,
            state=State(name),
            monthly_fee=Decimal(monthly_fee),
            **apart[name],
        )
        for name, account, number, monthly_fee in [
            ("completed", audian, owned.number, "0.99"),
            ("failed", vobiz, "+919876543210", "300"),
            ("unknown", audian, "+14155550199", "0.99"),
        ]
    }


def rows(response):
    return [row.record for row in response.context["table"].paginated_rows]


def test_the_page_lists_orders_with_state_who_price_and_error(client, support_user, orders):
    client.force_login(support_user)
    response = client.get(reverse("numbers:orders"))

    html = response.content.decode()
    assert {order.pk for order in rows(response)} == {order.pk for order in orders.values()}
    assert "sam-support" in html
    assert "300.00 INR" in html and "0.99 USD" in html
    assert "balance 12.00 INR, needed 400.00 INR" in html
    owned = orders["completed"].phone_number
    assert f'<a href="{owned.get_absolute_url()}">+1 415-555-0100</a>' in html
    # Only the unknown order can be checked again.
    assert html.count('aria-label="Check again whether') == 1
    assert reverse("numbers:order_check", args=[orders["unknown"].pk]) in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [({"state": "failed"}, ["failed"]), ({"state": "unknown"}, ["unknown"]), ({}, None)],
)
def test_orders_filter_by_state(client, support_user, orders, query, expected):
    client.force_login(support_user)
    response = client.get(reverse("numbers:orders"), query, **HTMX_TABLE)

    assert response.content.lstrip().startswith(b'<div id="table"')
    shown = {order.pk for order in rows(response)}
    wanted = expected or list(orders)
    assert shown == {orders[name].pk for name in wanted}


def test_orders_filter_by_account(client, finance_user, orders):
    client.force_login(finance_user)
    response = client.get(reverse("numbers:orders"), {"account": orders["failed"].account_id})

    assert [order.pk for order in rows(response)] == [orders["failed"].pk]


def test_a_bad_filter_value_is_an_error_in_place_not_a_500(client, support_user, orders):
    client.force_login(support_user)
    response = client.get(reverse("numbers:orders"), {"state": "nonsense", "account": "x"})

    assert response.status_code == 200
    assert b"Select a valid choice" in response.content


def test_finance_reads_orders_but_gets_no_check_again(client, finance_user, orders):
    client.force_login(finance_user)
    response = client.get(reverse("numbers:orders"))

    assert response.status_code == 200
    assert b'aria-label="Check again' not in response.content
    assert b"Check again" not in response.content
    assert b"Buy numbers</a>" not in response.content
    check = client.post(reverse("numbers:order_check", args=[orders["unknown"].pk]))
    assert check.status_code == 403


def test_the_query_count_does_not_grow_with_the_orders(client, support_user, db):
    client.force_login(support_user)
    account = ProviderAccountFactory()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("numbers:orders")).status_code == 200
        return len(captured)

    NumberOrderFactory.create_batch(3, account=account, requested_by=support_user)
    few = queries()
    for state in (State.COMPLETED, State.FAILED, State.UNKNOWN):
        for _ in range(10):
            number = PhoneNumberFactory(account=account)
            NumberOrderFactory(
                account=account,
                number=number.number,
                state=state,
                phone_number=number if state == State.COMPLETED else None,
                requested_by=support_user,
            )
    assert queries() == few


def test_check_again_of_a_settled_order_changes_nothing(client, support_user, orders):
    client.force_login(support_user)
    failed = orders["failed"]
    back = reverse("numbers:orders") + "?state=failed"

    response = client.post(reverse("numbers:order_check", args=[failed.pk]), {"next": back})

    assert (response.status_code, response.url) == (302, back)
    failed.refresh_from_db()
    assert failed.state == State.FAILED


def test_check_again_while_the_provider_is_down_keeps_the_order_unknown(client, support_user, db):
    state = build_state(numbers=1, transactions=0, inventory=1)
    with SandboxThread(build_app(state)) as url:
        account = World(state, url).accounts["tryvox"]
    order = NumberOrder.objects.create(
        idempotency_key=uuid.uuid4(),
        account=account,
        number="+14155550123",
        currency="USD",
        state=State.UNKNOWN,
    )
    client.force_login(support_user)

    response = client.post(
        reverse("numbers:order_check", args=[order.pk]), {"next": "https://evil.example/"}
    )

    assert (response.status_code, response.url) == (302, reverse("numbers:orders"))
    order.refresh_from_db()
    assert order.state == State.UNKNOWN
    page = client.get(response.url).content.decode()
    assert "Could not check the order" in page and "It stays unknown" in page
