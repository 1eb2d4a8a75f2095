"""What the billing pages show, read back from their HTML: the spend and balances report
tables (`ReportTables`) and the transactions page's totals cards (`shown_totals`), beside the
totals expected of a list of transactions, computed here without the portal's code."""

import re
from collections import defaultdict
from decimal import Decimal
from html.parser import HTMLParser

from portal.money import format_money as money

DEBIT_KINDS = {"debit", "recurring", "usage"}


class ReportTables(HTMLParser):
    """The text of each cell of the report's rows, keyed by (currency section, table, row):
    month rows by their YYYY-MM, breakdown rows by their group key."""

    def __init__(self, html: str):
        super().__init__()
        self.currency = self.table = self.row = self.cell = None
        self.rows: dict[tuple, list[str]] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-currency" in attrs:
            self.currency = attrs["data-currency"]
        elif tag == "table":
            self.table = attrs.get("data-testid")
        elif tag == "tr":
            self.row, self.cells = attrs.get("data-month") or attrs.get("data-key"), []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.cells.append(" ".join(" ".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows[(self.currency, self.table, self.row)] = self.cells
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

    def amount(self, currency, table, row, column) -> str:
        """A cell's amount: its first word (an "estimated" note may follow)."""
        return self.rows[(currency, table, row)][column].split()[0]


def expected_totals(transactions) -> dict[str, tuple[int, Decimal, Decimal, Decimal]]:
    """{card id: (count, debits, credits, net)}, the card id being the currency, with
    `-estimated` for estimated rows, which are totalled apart."""
    totals = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for row in transactions:
        group = totals[row.currency + ("-estimated" if row.is_estimate else "")]
        group[0] += 1
        group[1 if row.kind in DEBIT_KINDS else 2] += row.amount
    return {key: (count, out, into, into - out) for key, (count, out, into) in totals.items()}


CARD = re.compile(r'data-testid="totals-([A-Z]{3}(?:-estimated)?)"(.*?)</dl>', re.S)
FIGURE = re.compile(r'data-total="(debits|credits|net)"[^>]*>([^<]+)<')
COUNT = re.compile(r"([\d,]+) transactions?<")


def shown_totals(html: str) -> dict[str, tuple[int, str, str, str]]:
    """The totals cards of a page: {card id: (count, debits, credits, net as shown)}."""
    shown = {}
    for key, card in CARD.findall(html):
        figures = dict(FIGURE.findall(card))
        count = int(COUNT.search(card).group(1).replace(",", ""))
        shown[key] = (count, figures["debits"], figures["credits"], figures["net"])
    return shown


def as_shown(expected):
    """Expected totals as the page writes money: `1,234.5678 USD`."""
    return {
        key: (count, *(money(value, key[:3]) for value in figures))
        for key, (count, *figures) in expected.items()
    }
