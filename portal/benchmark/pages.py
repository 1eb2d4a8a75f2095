"""The pages staff use, timed through the full Django stack (middleware, sessions,
templates) with the test client, and Django admin's changelists on the same data as the
baseline; plus the SQL queries each page costs."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db.models import Sum
from django.test import Client

from billing.models import Transaction
from billing.tables import PER_PAGE as TRANSACTIONS_PER_PAGE
from numbers.models import NumberMonth, PhoneNumber
from portal.benchmark.measure import Latency, count_queries, time_requests

# Timings of a report without its cached sums: fewer, as each adds up the whole period.
UNCACHED_REQUESTS = 10
HTMX_TABLE = {"HX-Request": "true", "HX-Target": "table"}
HTMX_SPEND = {"HX-Request": "true", "HX-Target": "spend-report"}
# The last complete year before the seeded data's anchor (see seed.ANCHOR).
YEAR = "date_from=2025-12-01&date_to=2026-11-30"
# With their time zone: a bare date would reach the query as a naive datetime.
ADMIN_YEAR = (
    "occurred_at__gte=2025-12-01+00:00:00%2B00:00&occurred_at__lt=2026-12-01+00:00:00%2B00:00"
)
MONTHS = "start=2025-12&end=2026-11"
IDLE_DAYS = 60


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    url: str
    headers: dict | None = None
    report: bool = False  # sums over many rows: a looser time target
    baseline: str | None = None  # key of the admin changelist it is compared with
    # Also counted at another page size, where the page has one: queries must not change.
    per_page_url: str | None = None
    limit_ms: int | None = None  # a p95 target of its own, else the page's or report's


def pages(number_id: int, busy_number_id: int = 0) -> list[Page]:
    return [
        Page("dashboard", "Dashboard", "/"),
        Page(
            "numbers",
            "Numbers list, 100 a page",
            "/numbers/?per_page=100",
            baseline="admin_numbers",
            per_page_url="/numbers/?per_page=25",
        ),
        # Digits the seed's first numbers hold (+1 415-200-0000, …): found at every size.
        Page("numbers_digits", "Numbers, digits “415 200”", "/numbers/?q=415+200"),
        Page("numbers_label", "Numbers, label “Acme Dental”", "/numbers/?q=Acme+Dental"),
        Page("numbers_sorted", "Numbers sorted by label", "/numbers/?sort=label"),
        Page("numbers_page_1000", "Numbers, page 1,000", "/numbers/?page=1000"),
        Page(
            "numbers_partial",
            "Numbers list, htmx partial",
            "/numbers/?per_page=100&status=active",
            headers=HTMX_TABLE,
            per_page_url="/numbers/?per_page=25&status=active",
        ),
        Page("number_detail", "Number detail", f"/numbers/{number_id}/"),
        # The usage of the number with the most calls: its 30/90/365 days and 12 months.
        Page(
            "number_detail_usage",
            "Number detail with usage",
            f"/numbers/{busy_number_id}/",
            limit_ms=100,
        ),
        # The list as it is since issue 20: each row's calls in the last 30 days and its
        # last call.
        Page(
            "numbers_calls",
            "Numbers list with calls and last call",
            "/numbers/?per_page=100",
            per_page_url="/numbers/?per_page=25",
        ),
        Page(
            "idle",
            "Idle numbers, 60 days",
            f"/numbers/idle/?idle_days={IDLE_DAYS}",
            limit_ms=300,  # not a report: nothing cached, so no second, uncached timing
        ),
        Page(
            "transactions_year",
            "Transactions, a year, with totals",
            f"/billing/transactions/?{YEAR}",
            report=True,
            baseline="admin_transactions",
        ),
        Page(
            "transactions_partial",
            "Transactions, htmx partial",
            f"/billing/transactions/?{YEAR}&kind=usage",
            headers=HTMX_TABLE,
            report=True,
        ),
        Page(
            "spend_provider",
            "Spend, 12 months by provider",
            f"/billing/spend/?{MONTHS}&by=provider",
            report=True,
        ),
        Page(
            "spend_label",
            "Spend, 12 months by label",
            f"/billing/spend/?{MONTHS}&by=label",
            report=True,
        ),
        Page(
            "spend_partial",
            "Spend, htmx partial",
            f"/billing/spend/?{MONTHS}&by=account",
            headers=HTMX_SPEND,
            report=True,
        ),
    ]


ADMIN_PAGES = [
    Page("admin_numbers", "Admin: numbers changelist", "/admin/numbers/phonenumber/"),
    Page(
        "admin_transactions",
        "Admin: transactions changelist, a year",
        f"/admin/billing/transaction/?{ADMIN_YEAR}",
    ),
]


def staff_client() -> Client:
    """A logged-in superuser: sees every page, admin included, with every control."""
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def sample_number_id() -> int:
    """The first number seeded: present at every size, with rentals and usage."""
    return PhoneNumber.objects.order_by("pk").values_list("pk", flat=True)[0]


def busy_number_id() -> int:
    """The number with the most calls in its months: its page sums the most facts."""
    busiest = (
        NumberMonth.objects.filter(phone_number__isnull=False)
        .values("phone_number")
        .annotate(calls=Sum("calls"))
        .order_by("-calls", "phone_number")
        .values_list("phone_number", flat=True)
        .first()
    )
    return busiest or sample_number_id()


def same_page_size_in_admin():
    """The admin shows 100 rows a page; the transactions list shows TRANSACTIONS_PER_PAGE,
    so its baseline is made to show as many (numbers are compared at 100 a page)."""
    admin.site.get_model_admin(Transaction).list_per_page = TRANSACTIONS_PER_PAGE


def query_counts(client: Client) -> dict[str, int]:
    """SQL queries per page, and per list page at a second page size."""
    counts = {}
    for page in pages(sample_number_id(), busy_number_id()):
        counts[page.key] = count_queries(client, page.url, page.headers)
        if page.per_page_url:
            counts[f"{page.key}@per_page"] = count_queries(client, page.per_page_url, page.headers)
    return counts


def time_pages(client: Client, requests: int) -> dict[str, Latency]:
    """Each page's latency; a report's also without its cached sums (billing.report_cache),
    as its first view after new data costs, keyed `<page>.uncached`."""
    same_page_size_in_admin()
    timings = {}
    for page in [*pages(sample_number_id(), busy_number_id()), *ADMIN_PAGES]:
        timings[page.key] = time_requests(client, page.url, requests=requests, headers=page.headers)
        if page.report:
            timings[f"{page.key}.uncached"] = time_requests(
                client,
                page.url,
                requests=UNCACHED_REQUESTS,
                headers=page.headers,
                before_each=caches["reports"].clear,
            )
    return timings


def titles() -> dict[str, str]:
    """Every timed page's key and title, in the order of the table."""
    named = {}
    for page in [*pages(0), *ADMIN_PAGES]:
        named[page.key] = page.title
        if page.report:
            named[f"{page.key}.uncached"] = f"{page.title}, sums not cached"
    return named
