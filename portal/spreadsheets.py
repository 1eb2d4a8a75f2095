"""Making exported cells safe to open in a spreadsheet."""

import re

# A cell a spreadsheet would read as a formula starts with one of these (OWASP, "CSV
# injection"); a tab or carriage return in front hides such a start from the reader.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def neutralise_formula(value):
    """Text a spreadsheet would run as a formula, with a quote in front so it stays text.
    A plain signed number (an E.164 number such as `+14155550100`) runs nothing and is
    left as it is."""
    formula_like = isinstance(value, str) and value.startswith(FORMULA_STARTS)
    if formula_like and not PLAIN_NUMBER.fullmatch(value):
        return f"'{value}"
    return value
