"""The spend report: every figure is computed again here in plain Python, from the rows the
test made or from the sandbox's own ledger, and the page must show exactly those figures,
per currency, with months cut in the configured time zone."""

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Transaction
from billing.selectors.months import MonthRange, add_months, this_month
from billing.selectors.recurring import recurring_cost_vs_billed
from billing.selectors.spend import spend_by_month
from numbers.models import Call, PhoneNumber
from numbers.services.labels import set_label
from portal.money import format_money as money
from portal.providers.sandbox import build_state
from portal.roles import SUPPORT
from tests.support.factories import (
    PhoneNumberFactory,
    TransactionFactory,
    audian_and_vobiz,
    grant,
    provider_account,
)
from tests.support.reports import ReportTables
from tests.support.world import in_process, sync_every_account

ZERO = Decimal(0)
CHARGES = ("debit", "recurring", "usage")
HTMX_REPORT = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "spend-report"}


@dataclass(frozen=True)
class Row:
    """A transaction as this test knows it: what the report groups it by, and its money."""

    currency: str
    kind: str
    amount: Decimal
    occurred_at: datetime
    provider: str
    account: str
    label: str = ""
    is_estimate: bool = False


def expected_spend(rows, zone, by):
    """{currency: {month: {group: (amount, estimated part)}}} of the charges, in plain
    Python: each row's month is its calendar month in `zone`."""
    result = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: [ZERO, ZERO])))
    for row in rows:
        if row.kind not in CHARGES:
            continue
        local = row.occurred_at.astimezone(zone)
        cell = result[row.currency][date(local.year, local.month, 1)][getattr(row, by)]
        cell[0] += row.amount
        if row.is_estimate:
            cell[1] += row.amount
    return result


def month_total(expected, currency, month) -> Decimal:
    return sum((cell[0] for cell in expected[currency][month].values()), ZERO)


# --- Made-up rows at the edges of months ------------------------------------------------------


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("UTC"))


@pytest.fixture
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"
    return ZoneInfo("America/New_York")


@pytest.fixture
def ledger(db):
    """USD at Audian, INR at Vobiz, estimated USD at TryVox, with charges on both sides of
    New York's month boundaries (which are not UTC's), a credit and labelled numbers."""
    audian, vobiz = audian_and_vobiz()
    tryvox = provider_account("tryvox", name="TryVox global")
    acme = PhoneNumberFactory(account=audian, label="Acme Dental")
    # No portal label: the provider's label is the one the portal shows.
    bluebird = PhoneNumberFactory(account=audian, upstream_label="Bluebird Logistics")
    kaveri = PhoneNumberFactory(
        account=vobiz, number="+918012345678", country="IN", label="Kaveri Hospital"
    )
    specs = [
        # Dec 31 23:30 in New York, though 1 January in UTC.
        (audian, "debit", "10.0001", "2026-01-01T04:30:00", acme),
        # 1 January 00:30 in New York.
        (audian, "recurring", "0.99", "2026-01-01T05:30:00", acme),
        # The last second of January in New York.
        (audian, "usage", "1.2345", "2026-02-01T04:59:59", bluebird),
        (audian, "credit", "500", "2026-01-15T12:00:00", None),  # money in, not spend
        (audian, "debit", "7", "2025-11-30T12:00:00", None),  # before the period
        (vobiz, "recurring", "300", "2026-01-31T23:00:00", kaveri),
        (vobiz, "debit", "100.5", "2026-03-01T03:00:00", kaveri),  # 28 Feb in New York
        (vobiz, "usage", "0.0085", "2026-03-01T06:00:00", None),
        (tryvox, "recurring", "1.25", "2026-02-10T00:00:00", None),
        (tryvox, "recurring", "1.25", "2026-03-10T00:00:00", None),
    ]
    rows = []
    for account, kind, amount, when, number in specs:
        estimate = account is tryvox
        TransactionFactory(
            account=account,
            kind=kind,
            amount=Decimal(amount),
            occurred_at=utc(when),
            phone_number=number,
            number=number.number if number else "",
            is_estimate=estimate,
        )
        rows.append(
            Row(
                account.currency,
                kind,
                Decimal(amount),
                utc(when),
                account.provider.name,
                account.name,
                number.display_label if number else "",
                estimate,
            )
        )
    return rows


PERIOD = MonthRange(date(2025, 12, 1), date(2026, 3, 1))
GROUP_OF = {"provider": "provider", "account": "account", "label": "label"}


@pytest.mark.parametrize("by", ["provider", "account", "label"])
def test_report_figures_equal_plain_python_in_the_configured_time_zone(new_york, ledger, by):
    expected = expected_spend(ledger, new_york, GROUP_OF[by])
    report = spend_by_month(PERIOD, by)

    assert [spend.currency for spend in report.currencies] == ["INR", "USD"]
    for spend in report.currencies:
        months = expected[spend.currency]
        assert [month.month for month in spend.months] == PERIOD.months
        for month in spend.months:
            assert month.spend.amount == month_total(expected, spend.currency, month.month)
            previous = month_total(expected, spend.currency, add_months(month.month, -1))
            assert month.change == month.spend.amount - previous
        for group in spend.groups:
            name = group.name if group.name != "(no label)" else ""
            for month, cell in zip(PERIOD.months, group.cells, strict=True):
                amount, estimated = months[month].get(name, [ZERO, ZERO])
                assert (cell.amount, cell.estimated) == (amount, estimated), (name, month)
        assert spend.total.amount == sum(
            (month_total(expected, spend.currency, month) for month in PERIOD.months), ZERO
        )


def test_the_months_split_where_new_york_says(new_york, ledger):
    usd = {s.currency: s for s in spend_by_month(PERIOD, "provider").currencies}["USD"]
    by_month = {month.month: month.spend.amount for month in usd.months}
    # UTC would put the 10.0001 debit in January and the 1.2345 usage in February.
    assert by_month[date(2025, 12, 1)] == Decimal("10.0001")
    assert by_month[date(2026, 1, 1)] == Decimal("0.99") + Decimal("1.2345")
    assert by_month[date(2026, 2, 1)] == Decimal("1.25")
    assert usd.months[0].change == Decimal("10.0001") - Decimal("7")


def test_the_page_shows_exactly_those_figures(client, finance_user, new_york, ledger):
    client.force_login(finance_user)
    response = client.get(reverse("billing:spend"), {"start": "2025-12", "end": "2026-03"})
    assert response.status_code == 200
    tables = ReportTables(response.content.decode())
    expected = expected_spend(ledger, new_york, "provider")
    for currency in ("USD", "INR"):
        for month in PERIOD.months:
            total = month_total(expected, currency, month)
            assert tables.amount(currency, "spend-months", f"{month:%Y-%m}", 1) == money(total)
    usd_cells = tables.rows[("USD", "spend-breakdown", "tryvox")]
    assert "estimated" in usd_cells[0]
    # Name, total, last change, then the months.
    assert [cell.split()[0] for cell in usd_cells[3:]] == ["0.00", "0.00", "1.25", "1.25"]
    assert tables.amount("INR", "spend-breakdown", "vobiz", 1) == money(Decimal("400.5085"))
    assert "incl. 2.50 USD estimated" in response.content.decode()


def test_the_chart_data_adds_up_to_the_table(client, finance_user, new_york, ledger):
    client.force_login(finance_user)
    html = client.get(
        reverse("billing:spend"), {"start": "2025-12", "end": "2026-03", "by": "label"}
    ).content.decode()
    start = html.index('<script id="spend-chart-USD" type="application/json">')
    chart = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    sums = [
        sum((Decimal(dataset["data"][index]) for dataset in chart["datasets"]), ZERO)
        for index in range(len(PERIOD.months))
    ]
    assert sums == [Decimal(total) for total in chart["totals"]]
    assert sums == [Decimal("10.0001"), Decimal("2.2245"), Decimal("1.25"), Decimal("1.25")]
    labels = {dataset["label"] for dataset in chart["datasets"]}
    assert labels == {"Acme Dental", "Bluebird Logistics", "(no label) (estimated)"}


def report_queries(by) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        spend_by_month(PERIOD, by)
    return [query["sql"] for query in captured]


@pytest.mark.parametrize(
    # The accounts without a ledger, the state of the data (the cache's key), the one
    # grouped query, and by provider or account the accounts' names, read afterwards.
    ("by", "expected"),
    [("label", 3), ("provider", 4), ("account", 4)],
)
def test_the_report_is_one_grouped_query_whatever_the_rows(new_york, ledger, by, expected):
    before = len(report_queries(by))
    account = Transaction.objects.first().account
    TransactionFactory.create_batch(30, account=account, occurred_at=utc("2026-02-02T12:00:00"))
    assert len(report_queries(by)) == before == expected


@pytest.mark.parametrize("by", ["label", "provider", "account"])
def test_the_report_adds_up_months_not_transactions_and_caches_them(new_york, ledger, by):
    """Issue 20: the sums come from the monthly facts the syncs keep, cached while the data
    is unchanged, and a new charge is in them at once."""
    caches["reports"].clear()
    queries = report_queries(by)
    facts = "numbers_labelmonth" if by == "label" else "numbers_numbermonth"
    assert any(facts in sql for sql in queries)
    assert not any('FROM "billing_transaction"' in sql for sql in queries), "ledger added up"
    first = spend_by_month(PERIOD, by)
    again = report_queries(by)
    assert not any("SUM(" in sql.upper() for sql in again), "added up again, data unchanged"

    account = Transaction.objects.first().account
    TransactionFactory(
        account=account, kind="usage", amount=Decimal("7.0000"), occurred_at=utc("2026-02-02")
    )
    grown = spend_by_month(PERIOD, by)
    total = {spend.currency: spend.total.amount for spend in first.currencies}
    assert {spend.currency: spend.total.amount for spend in grown.currencies} == {
        **total,
        account.currency: total.get(account.currency, ZERO) + Decimal("7"),
    }


def test_a_relabelled_number_regroups_the_cached_report_at_once(new_york, ledger):
    before = spend_by_month(PERIOD, "label")
    number = PhoneNumber.objects.get(label="Kaveri Hospital")  # Vobiz: labels in the portal
    set_label(number, "Renamed Hospital", actor=None)
    after = spend_by_month(PERIOD, "label")
    assert "Renamed Hospital" not in group_names(before)
    assert "Kaveri Hospital" not in group_names(after)
    [renamed] = [g for s in after.currencies for g in s.groups if g.name == "Renamed Hospital"]
    [kaveri] = [g for s in before.currencies for g in s.groups if g.name == "Kaveri Hospital"]
    assert renamed.cells == kaveri.cells


def group_names(report) -> set[str]:
    return {group.name for spend in report.currencies for group in spend.groups}


# --- The sandbox's own ledger, in USD and INR --------------------------------------------------


@pytest.fixture
def kolkata(settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # months start at 18:30 UTC the day before
    return ZoneInfo("Asia/Kolkata")


@pytest.fixture
def synced_world(db, kolkata):
    return sync_every_account(in_process(build_state(numbers=20, transactions=60, inventory=2)))


def sandbox_rows(world):
    """Every charge as the sandbox's ledgers say (Audian and Vobiz have a billing API); the
    rentals the portal estimated for Ravan and TryVox, which have none, and their calls'
    cost (actual: no ledger of theirs holds it). Labels are the ones the portal shows for
    the numbers the rows name."""
    labels = {
        (number.provider_id, number.number): number.display_label
        for number in PhoneNumber.objects.all()
    }
    rows = []
    for slug in ("audian", "vobiz"):
        account = world.accounts[slug]
        for row in world.state.transactions(world.upstream(slug)):
            rows.append(
                Row(
                    row["currency"],
                    row["kind"],
                    Decimal(row["amount"]),
                    datetime.fromisoformat(row["created_at"]),
                    account.provider.name,
                    account.name,
                    labels.get((account.provider_id, row["e164"]), ""),
                )
            )
    for estimate in Transaction.objects.filter(is_estimate=True).select_related(
        "account__provider"
    ):
        rows.append(
            Row(
                estimate.currency,
                estimate.kind,
                estimate.amount,
                estimate.occurred_at,
                estimate.account.provider.name,
                estimate.account.name,
                labels.get((estimate.account.provider_id, estimate.number), ""),
                True,
            )
        )
    for slug in ("ravan", "tryvox"):
        account = world.accounts[slug]
        for call in Call.objects.filter(account=account, cost__isnull=False):
            label = labels.get((account.provider_id, call.number), "")
            rows.append(
                Row(
                    call.currency,
                    "usage",
                    call.cost,
                    call.started_at,
                    account.provider.name,
                    account.name,
                    label,
                )
            )
    return rows


@pytest.mark.parametrize("by", ["account", "label"])
def test_the_sandbox_ledgers_in_usd_and_inr(client, finance_user, synced_world, kolkata, by):
    period = MonthRange.ending(this_month(), 12)
    # Ravan's calls are in its spend (below), so there must be some to count.
    assert Call.objects.filter(account=synced_world.accounts["ravan"]).exists()
    expected = expected_spend(sandbox_rows(synced_world), kolkata, by)
    client.force_login(finance_user)
    response = client.get(reverse("billing:spend"), {"by": by})  # the default: 12 months
    tables = ReportTables(response.content.decode())
    report = response.context["report"]

    assert {spend.currency for spend in report.currencies} == {"USD", "INR"}
    for spend in report.currencies:
        currency = spend.currency
        for month in period.months:
            total = month_total(expected, currency, month)
            assert tables.amount(currency, "spend-months", f"{month:%Y-%m}", 1) == money(total)
        names = {group.key: group.name for group in spend.groups}
        for key, name in names.items():
            group = name if name != "(no label)" else ""
            cells = [expected[currency][month].get(group, [ZERO])[0] for month in period.months]
            shown = tables.rows[(currency, "spend-breakdown", key)][3:]
            assert [cell.split()[0] for cell in shown] == [money(cell) for cell in cells], name
        assert set(names.values()) - {"(no label)"} == {
            group for month in period.months for group in expected[currency].get(month, {}) if group
        }


# --- The period form ---------------------------------------------------------------------------


def test_defaults_are_the_last_twelve_months_by_provider(client, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("billing:spend"))
    report = response.context["report"]
    assert report.period == MonthRange.ending(this_month(), 12)
    assert report.breakdown == "provider"
    assert b'data-testid="spend-empty"' in response.content  # no charges yet


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2025-13"}, "start", "Enter a month as YYYY-MM"),
        ({"start": "last year"}, "start", "Enter a month as YYYY-MM"),
        ({"start": "2026-03", "end": "2026-01"}, "end", "The period ends before it starts."),
        ({"start": "2020-01", "end": "2026-01"}, "start", "Choose at most 36 months."),
        ({"by": "customer"}, "by", "Select a valid choice."),
    ],
)
def test_a_bad_period_is_refused_in_place(client, finance_user, query, field, message):
    client.force_login(finance_user)
    response = client.get(reverse("billing:spend"), query)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html and message in html
    assert 'aria-invalid="true"' in html
    assert 'data-testid="spend-invalid"' in html
    # htmx swaps only successful answers: it gets the errors with a 200.
    assert client.get(reverse("billing:spend"), query, **HTMX_REPORT).status_code == 200


def test_htmx_gets_the_report_alone(client, finance_user, new_york, ledger):
    client.force_login(finance_user)
    response = client.get(
        reverse("billing:spend"), {"start": "2025-12", "end": "2026-03"}, **HTMX_REPORT
    )
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="spend-report"')
    assert 'data-testid="recurring"' not in html  # outside the report: not redone
    assert "HX-Request" in response["Vary"] and "HX-Target" in response["Vary"]
    assert ReportTables(html).amount("INR", "spend-months", "2026-02", 1) == "100.50"


# --- Recurring cost of owned numbers against what was billed -----------------------------------


def test_monthly_fees_of_active_numbers_next_to_recurring_billed_last_month(new_york, db):
    audian, vobiz = audian_and_vobiz()
    PhoneNumberFactory.create_batch(3, account=audian, monthly_fee=Decimal("0.99"))
    PhoneNumberFactory(account=audian, monthly_fee=Decimal("1.99"))
    PhoneNumberFactory(
        account=audian,
        monthly_fee=Decimal("5"),
        status=PhoneNumber.Status.RELEASED,
        released_at=timezone.now(),
    )
    PhoneNumberFactory(account=vobiz, number="+918012345678", monthly_fee=Decimal("300"))
    last_month = add_months(this_month(), -1)
    zone = new_york
    start = datetime(last_month.year, last_month.month, 1, tzinfo=zone)
    end = datetime(this_month().year, this_month().month, 1, tzinfo=zone)
    for when, amount in [
        (start, "0.99"),  # the first moment of last month
        (end - timedelta(seconds=1), "0.99"),  # its last second
        (start - timedelta(seconds=1), "9"),  # the month before: not counted
        (end, "9"),  # this month: not counted
    ]:
        TransactionFactory(
            account=audian, kind="recurring", amount=Decimal(amount), occurred_at=when
        )
    TransactionFactory(account=audian, kind="usage", amount=Decimal("4"), occurred_at=start)
    TransactionFactory(
        account=vobiz, kind="recurring", amount=Decimal("300"), currency="INR", occurred_at=start
    )

    comparison = recurring_cost_vs_billed()
    assert comparison.month == last_month
    rows = {row.name: row for row in comparison.accounts}
    assert (rows["Audian main"].numbers, rows["Audian main"].fees) == (4, Decimal("4.96"))
    assert rows["Audian main"].billed.amount == Decimal("1.98")
    assert rows["Audian main"].difference == Decimal("1.98") - Decimal("4.96")
    assert rows["Vobiz India"].difference == ZERO
    totals = {row.currency: row for row in comparison.totals}
    assert (totals["USD"].fees, totals["USD"].billed.amount) == (Decimal("4.96"), Decimal("1.98"))
    assert (totals["INR"].fees, totals["INR"].billed.amount) == (Decimal("300"), Decimal("300"))


def test_estimated_recurring_charges_are_labelled(client, finance_user, db):
    tryvox = provider_account("tryvox")
    PhoneNumberFactory(account=tryvox, monthly_fee=Decimal("1.25"))
    last_month = add_months(this_month(), -1)
    TransactionFactory(
        account=tryvox,
        kind="recurring",
        amount=Decimal("1.25"),
        is_estimate=True,
        occurred_at=timezone.make_aware(datetime(last_month.year, last_month.month, 3)),
    )
    client.force_login(finance_user)
    html = client.get(reverse("billing:spend")).content.decode()
    section = html[html.index('data-testid="recurring"') :]
    row = section[section.index('data-testid="recurring-account"') :]
    row = row[: row.index("</tr>")]
    assert "1.25 USD" in row and "estimated" in row


# --- Who may see it ----------------------------------------------------------------------------


def test_support_is_refused_until_an_admin_grants_the_report(client, support_user):
    client.force_login(support_user)
    assert client.get(reverse("billing:spend")).status_code == 403
    grant(SUPPORT, "view_spend_report")
    assert client.get(reverse("billing:spend")).status_code == 200


# --- Issue 17 (8): a month not over yet compares with the same days of the month before ---


def test_a_month_so_far_is_compared_with_the_same_days_of_the_month_before(settings, db):
    """The change of "Dec 2026 so far" (-57.5%) set a week of December against the whole
    of November."""
    settings.TIME_ZONE = "UTC"
    account = provider_account("audian")
    for amount, when in (
        ("10", "2026-11-03T12:00:00"),  # within 1 to 7 November, before 06:31
        ("5", "2026-11-07T06:45:00"),  # later on 7 November than it is now on 7 December
        ("85", "2026-11-20T12:00:00"),
        ("12", "2026-12-02T12:00:00"),
    ):
        TransactionFactory(
            account=account, kind="debit", amount=Decimal(amount), occurred_at=utc(when)
        )
    now = utc("2026-12-07T06:31:00")

    (usd,) = spend_by_month(
        MonthRange(date(2026, 11, 1), date(2026, 12, 1)), "provider", now=now
    ).currencies

    november, december = usd.months
    assert (november.change, november.compared_until) == (Decimal("100"), None)
    assert december.spend.amount == Decimal("12")
    assert (december.change, december.change_percent) == (Decimal("2"), Decimal("20.0"))
    assert december.compared_until == utc("2026-11-07T06:31:00")
    assert usd.groups[0].change == Decimal("2")
    # A period ending before this month compares whole months, as before.
    (whole,) = spend_by_month(
        MonthRange(date(2026, 11, 1), date(2026, 11, 1)), "provider", now=now
    ).currencies
    assert whole.months[0].compared_until is None


def test_the_page_says_what_a_month_so_far_is_compared_with(client, finance_user, db):
    account = provider_account("audian")
    TransactionFactory(account=account, kind="debit", amount=Decimal("3"))
    client.force_login(finance_user)
    tables = ReportTables(client.get(reverse("billing:spend")).content.decode())
    current = f"{this_month():%Y-%m}"
    last_month = f"{add_months(this_month(), -1):%b}"
    change = tables.rows[("USD", "spend-months", current)][2]
    assert re.fullmatch(rf"\+3\.00 vs 1(\u2013\d{{1,2}})? {last_month}", change), change
