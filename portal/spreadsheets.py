"""Making exported cells safe and exact in a spreadsheet.

A CSV file has no types: text a spreadsheet would run as a formula gets a quote in front
(`neutralise_formula`). An XLSX file has them: such text is stored as a text cell, which
no spreadsheet runs, so it needs no quote that would show; amounts are numbers written
from their decimal text, never through a float, with two places or four (`xlsx_cells`).
"""

import re
from decimal import Decimal

from openpyxl.cell import WriteOnlyCell

from portal.money import has_sub_cents

# A cell a spreadsheet would read as a formula starts with one of these (OWASP, "CSV
# injection"); a tab or carriage return in front hides such a start from the reader.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
TEXT_FORMAT = "@"
MONEY_FORMATS = {False: "#,##0.00", True: "#,##0.0000"}  # by has_sub_cents


def is_formula_like(value) -> bool:
    """Text a spreadsheet would run as a formula. A plain signed number (an E.164 number
    such as `+14155550100`) runs nothing."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not PLAIN_NUMBER.fullmatch(value)
    )


def neutralise_formula(value):
    """For CSV: formula-like text with a quote in front, so it stays text."""
    return f"'{value}" if is_formula_like(value) else value


def xlsx_cells(sheet, values) -> list:
    """A row for `sheet.append` in openpyxl's write-only mode: each value as it is, except
    Decimal amounts (numbers with a 2- or 4-place format) and formula-like text (a text
    cell in text format)."""
    return [_xlsx_cell(sheet, value) for value in values]


def _xlsx_cell(sheet, value):
    if isinstance(value, Decimal):
        # openpyxl writes a number as "%.16g" of it, through a float (8369.006 becomes
        # 8369.005999999999); its exact decimal text goes into the file instead.
        cell = WriteOnlyCell(sheet, value=f"{value:f}")
        cell.data_type = "n"
        cell.number_format = MONEY_FORMATS[has_sub_cents(value)]
        return cell
    if is_formula_like(value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # openpyxl would take "=…" for a formula
        cell.number_format = TEXT_FORMAT
        return cell
    return value
