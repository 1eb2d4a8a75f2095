"""Transactions as CSV or XLSX files, read from the database in chunks and written row by
row, so an export of a million rows never holds them all in memory.

Cells are plain values a spreadsheet computes with: the amount as a signed decimal (a
debit is negative) beside its currency, the date in the portal's time zone. Text from
upstreams and staff that a spreadsheet would run as a formula is neutralised: quoted in
the CSV, a text cell in the XLSX (portal.spreadsheets).
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

from billing.models import Transaction
from portal.money import shown_amount
from portal.spreadsheets import neutralise_formula, xlsx_cells

CHUNK_SIZE = 2000
# The CSV goes out in pieces of about this many characters: few enough writes for a
# large file, small enough that a piece never matters for memory.
CSV_PIECE = 64 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The most rows an Excel sheet holds, its header included.
SHEET_ROWS = 1_048_576

FIELDS = (
    "occurred_at",
    "account__provider__name",
    "account__name",
    "kind",
    "is_estimate",
    "description",
    "number",
    "reference",
    "amount",
    "currency",
    "upstream_id",
)
# Spreadsheet column widths, in characters, for the columns above.
WIDTHS = (18, 10, 22, 10, 10, 40, 15, 20, 12, 8, 24)


def signed_amount(amount: Decimal, is_debit: bool) -> Decimal:
    """The amount as the `money` filter shows it (25.0000 → 25.00, 0.0085 stays), negative
    for money leaving the account, without a thousands separator or currency."""
    shown = shown_amount(amount)
    return -shown if is_debit and shown else shown


def header() -> list[str]:
    return [
        f"Date ({timezone.get_current_timezone_name()})",
        "Provider",
        "Account",
        "Type",
        "Estimated",
        "Description",
        "Number",
        "Reference",
        "Amount",
        "Currency",
        "Upstream id",
    ]


def export_rows(transactions: QuerySet[Transaction]) -> Iterator[list]:
    """Each transaction, in the queryset's order, as a list of cell values (dates as local
    times without a zone, amounts as signed Decimals, text as it is). Reads the rows in
    chunks, as plain tuples rather than model instances."""
    zone = timezone.get_current_timezone()
    kinds = dict(Transaction.Kind.choices)
    debit_kinds = set(Transaction.DEBIT_KINDS)
    rows = transactions.values_list(*FIELDS).iterator(chunk_size=CHUNK_SIZE)
    for (
        occurred_at,
        provider,
        account,
        kind,
        is_estimate,
        description,
        number,
        reference,
        amount,
        currency,
        upstream_id,
    ) in rows:
        yield [
            timezone.localtime(occurred_at, zone).replace(tzinfo=None, microsecond=0),
            provider,
            account,
            kinds.get(kind, kind),
            "estimated" if is_estimate else "",
            description,
            number,
            reference,
            signed_amount(amount, kind in debit_kinds),
            currency,
            upstream_id,
        ]


def _csv_text(cell) -> str:
    cell = neutralise_formula(cell)
    if isinstance(cell, Decimal):
        return f"{cell:f}"  # never an exponent (0E-4)
    if hasattr(cell, "isoformat"):
        return cell.isoformat(sep=" ")
    return cell


def csv_pieces(rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    # The byte order mark tells spreadsheets the file is UTF-8 (names, ₹ in descriptions).
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header())
    for row in rows:
        writer.writerow([_csv_text(cell) for cell in row])
        if buffer.tell() >= CSV_PIECE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(transactions: QuerySet[Transaction], filename: str) -> StreamingHttpResponse:
    """The transactions as a CSV download, written while it is sent."""
    response = StreamingHttpResponse(
        csv_pieces(export_rows(transactions)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _new_sheet(workbook: Workbook):
    number = len(workbook.worksheets) + 1
    sheet = workbook.create_sheet("Transactions" if number == 1 else f"Transactions {number}")
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(header())
    return sheet


def xlsx_file(rows: Iterable[list]):
    """The rows as an XLSX workbook in an anonymous temporary file, positioned at its start.
    openpyxl's write-only mode writes each row out as it comes instead of keeping cells.
    A sheet holds at most SHEET_ROWS rows (Excel's limit); more go on in further sheets."""
    workbook = Workbook(write_only=True)
    sheet, used = _new_sheet(workbook), 1
    for row in rows:
        if used == SHEET_ROWS:
            sheet, used = _new_sheet(workbook), 1
        sheet.append(xlsx_cells(sheet, row))
        used += 1
    # Not a `with` block: the response streams the file, then closes (and so deletes) it.
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    workbook.save(handle)
    handle.seek(0)
    return handle


def xlsx_response(transactions: QuerySet[Transaction], filename: str) -> FileResponse:
    """The transactions as an XLSX download, streamed from a temporary file that is gone
    once the response closes it."""
    return FileResponse(
        xlsx_file(export_rows(transactions)),
        as_attachment=True,
        filename=filename,
        content_type=XLSX_TYPE,
    )
