"""The idle numbers page: numbers nobody called in N days, what they cost a month per
currency (unknown fees left out and counted, 28-day prices as monthly equivalents), the
accounts it cannot judge, its exports, and labels and tags set on idle numbers in bulk."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from numbers.models import PhoneNumber
from numbers.selectors.usage import today
from portal.providers.audian.adapter import AudianAdapter
from portal.providers.capabilities import Capability
from tests.support.factories import (
    PhoneNumberFactory,
    ProviderAccountFactory,
    TagFactory,
    UserFactory,
    calls_on,
    calls_synced,
    provider_account,
)

IDLE = reverse("numbers:idle")
BULK = reverse("numbers:bulk_label")
LONG_AGO = timezone.now() - timedelta(days=400)


@pytest.fixture
def world(db):
    """Idle and busy numbers at three synced accounts in two currencies, and one account
    whose calls were never synced."""
    audian = calls_synced(provider_account("audian", name="Audian main"))
    vobiz = calls_synced(provider_account("vobiz", name="Vobiz India", currency="INR"))
    ravan = calls_synced(provider_account("ravan", name="Ravan credits"))
    unsynced = ProviderAccountFactory(provider=audian.provider, name="Audian new")

    def number(account, digits, **fields):
        return PhoneNumberFactory(account=account, number=digits, purchased_at=LONG_AGO, **fields)

    rows = {
        "acme": number(audian, "+14155550100", label="Acme", monthly_fee=Decimal("1.5000")),
        "acme2": number(audian, "+14155550101", label="Acme", monthly_fee=Decimal("2.2500")),
        "unknown": number(audian, "+14155550102", label="Acme", monthly_fee=None),
        "busy": number(audian, "+14155550103", label="Acme", monthly_fee=Decimal("9.0000")),
        # No portal label: grouped under the label it has at Vobiz, as the list shows it.
        "mumbai": number(
            vobiz,
            "+912261234567",
            upstream_label="Kaveri Hospital",
            monthly_fee=Decimal("499.0000"),
        ),
        # Ravan's 1.15 per 28 days, a month's equivalent of 1.2502.
        "ravan": number(
            ravan,
            "+447700900001",
            monthly_fee=Decimal("1.2502"),
            period_fee=Decimal("1.1500"),
            rental_period_days=28,
        ),
        "unsynced": number(unsynced, "+14155550199", label="Acme"),
        "released": number(
            audian,
            "+14155550198",
            status=PhoneNumber.Status.RELEASED,
            released_at=LONG_AGO + timedelta(days=10),
        ),
    }
    calls_on(rows["busy"], today() - timedelta(days=5))
    calls_on(rows["acme"], today() - timedelta(days=100))  # before the 60 days
    rows["acme"].tags.add(TagFactory(name="vip"))
    return rows


def shown(response):
    return sorted(row.record.number for row in response.context["table"].paginated_rows)


def numbers(world, *keys):
    return sorted(world[key].number for key in keys)


def test_idle_numbers_are_those_without_calls_in_60_days_by_default(client, finance_user, world):
    client.force_login(finance_user)
    response = client.get(IDLE)
    assert response.status_code == 200
    assert shown(response) == numbers(world, "acme", "acme2", "unknown", "mumbai", "ravan")
    # Fewer days: the number last called 100 days ago is still idle; more: the busy one not.
    assert world["acme"].number not in shown(client.get(IDLE, {"idle_days": "120"}))
    assert world["busy"].number in shown(client.get(IDLE, {"idle_days": "3"}))


def test_totals_are_per_currency_unknown_fees_left_out_and_counted(client, finance_user, world):
    client.force_login(finance_user)
    response = client.get(IDLE)
    totals = {total.currency: total for total in response.context["summary"].totals}
    assert set(totals) == {"USD", "INR"}
    # 1.50 + 2.25 (Audian) + 1.2502 (Ravan's monthly equivalent); the unknown fee left out.
    assert totals["USD"].monthly_fees == Decimal("5.0002")
    assert totals["USD"].numbers == 4
    assert totals["USD"].unknown_fees == 1
    assert totals["USD"].converted == 1
    assert totals["INR"].monthly_fees == Decimal("499")
    html = response.content.decode()
    assert "≈ 5.0002 USD" in html
    assert "1 number without a known fee" in html
    assert "incl. 1 monthly equivalent of a price per 28 days" in html


def test_groups_are_by_provider_account_and_label(client, finance_user, world):
    client.force_login(finance_user)
    groups = client.get(IDLE).context["summary"].groups
    assert [
        (group.account.name, group.label, group.numbers, group.monthly_fees, group.unknown_fees)
        for group in groups
    ] == [
        ("Audian main", "Acme", 3, Decimal("3.75"), 1),
        ("Ravan credits", "", 1, Decimal("1.2502"), 0),
        ("Vobiz India", "Kaveri Hospital", 1, Decimal("499"), 0),
    ]


def test_accounts_whose_calls_are_not_synced_are_named_and_not_judged(
    client, finance_user, world, monkeypatch
):
    # Whatever Audian's adapter declares on this branch: one that publishes call records.
    monkeypatch.setattr(
        AudianAdapter, "capabilities", AudianAdapter.capabilities | {Capability.CALL_RECORDS}
    )
    client.force_login(finance_user)
    response = client.get(IDLE)
    assert world["unsynced"].number not in shown(response)
    assert "Audian new (Audian): call records not synced yet" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"provider": "vobiz"}, ["mumbai"]),
        ({"account": "ACCOUNT"}, ["ravan"]),
        ({"label": "acme"}, ["acme", "acme2", "unknown"]),
        ({"tag": "vip"}, ["acme"]),
    ],
)
def test_filters_narrow_the_idle_numbers(client, finance_user, world, query, expected):
    if "account" in query:
        query = {"account": str(world["ravan"].account_id)}
    client.force_login(finance_user)
    response = client.get(IDLE, query)
    assert shown(response) == numbers(world, *expected)
    assert response.context["summary"].numbers == len(expected)


def test_nothing_idle_says_so(client, finance_user, world):
    client.force_login(finance_user)
    html = client.get(IDLE, {"idle_days": "1", "provider": "vobiz"}).content.decode()
    # Held 400 days and never called: idle after one day too, so ask for calls instead.
    assert "Nothing idle" not in html
    calls_on(world["mumbai"], today())
    html = client.get(IDLE, {"idle_days": "1", "provider": "vobiz"}).content.decode()
    assert "Nothing idle: every number judged had a call in the last 1 day" in html


def test_a_refused_number_of_days_is_named_and_matches_nothing(client, finance_user, world):
    client.force_login(finance_user)
    response = client.get(IDLE, {"idle_days": "0"})
    assert response.context["summary"] is None
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()


def csv_rows(response):
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_export_lists_every_idle_number_with_unknown_fees_empty(client, finance_user, world):
    client.force_login(finance_user)
    response = client.get(IDLE, {"_export": "csv", "per_page": "1"})
    assert "idle-numbers-" in response["Content-Disposition"]
    rows = {row["Number"]: row for row in csv_rows(response)}
    assert sorted(rows) == numbers(world, "acme", "acme2", "unknown", "mumbai", "ravan")
    assert rows[world["unknown"].number]["Monthly"] == ""  # unknown: empty, never 0
    assert rows[world["acme"].number]["Monthly"] == "1.50"
    assert rows[world["acme"].number]["Last call"] == (today() - timedelta(days=100)).isoformat()
    assert rows[world["ravan"].number]["Rental period (days)"] == "28"
    assert rows[world["acme2"].number]["Rental period (days)"] == ""
    assert rows[world["acme"].number]["Tags"] == "vip"


def test_xlsx_export_holds_the_idle_numbers_of_the_filter(client, finance_user, world):
    client.force_login(finance_user)
    response = client.get(IDLE, {"_export": "xlsx", "provider": "vobiz"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert [record["Number"] for record in records] == [world["mumbai"].number]
    assert Decimal(str(records[0]["Monthly"])) == Decimal("499")
    assert records[0]["Currency"] == "INR"


def test_labelling_all_idle_numbers_confirms_the_count_then_changes_only_them(
    client, support_user, world
):
    client.force_login(support_user)
    page = client.get(IDLE, {"provider": "audian"})
    query = page.context["bulk_query"]
    assert "idle_days=60" in query  # the default made explicit: never "every number"
    post = {
        "query": query,
        "origin": "idle",
        "scope": "all",
        "tag_action": "add",
        "tags": "idle",
    }
    confirm = client.post(BULK, post)
    assert confirm.context["count"] == 3
    assert "No calls in (days): <strong>60</strong>" in confirm.content.decode()
    done = client.post(BULK, {**post, "confirmed_count": "3"})
    assert done.status_code == 302
    assert done["Location"].startswith(IDLE)
    tagged = PhoneNumber.objects.filter(tags__name="idle")
    assert sorted(tagged.values_list("number", flat=True)) == numbers(
        world, "acme", "acme2", "unknown"
    )


def test_ticked_idle_numbers_can_be_labelled(client, support_user, world):
    client.force_login(support_user)
    ravan = world["ravan"]
    response = client.post(
        BULK,
        {
            "pk": [ravan.pk],
            "scope": "selected",
            "origin": "idle",
            "query": "idle_days=60",
            "label_action": "set",
            "label": "Spare",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{IDLE}?idle_days=60"
    ravan.refresh_from_db()
    assert ravan.label == "Spare"


@pytest.mark.parametrize(
    ("group", "allowed"), [("Finance", True), ("Support", True), (None, False)]
)
def test_finance_and_support_see_the_page_and_its_menu_entry(client, db, group, allowed):
    user = UserFactory(groups=[group] if group else [])
    client.force_login(user)
    assert client.get(IDLE).status_code == (200 if allowed else 403)
    menu = client.get(reverse("dashboard")).content.decode()
    assert (f'href="{IDLE}"' in menu) is allowed
