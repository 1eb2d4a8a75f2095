"""Money field helpers shared by every app's models.

Money is always a `Decimal` amount stored with 4 decimal places (upstreams publish
per-minute prices such as 0.0085) next to an ISO 4217 currency code; amounts in
different currencies are never added together.
"""

from decimal import Decimal

from django.db import models
from django.db.models import BigIntegerField, Q, Sum, Value
from django.db.models.functions import Cast, Round

MONEY_DIGITS = 14
MONEY_PLACES = 4
CURRENCY_REGEX = r"^[A-Z]{3}$"
NO_MONEY = Decimal(0).scaleb(-MONEY_PLACES)
CENTS = Decimal("0.01")


def has_sub_cents(amount: Decimal) -> bool:
    """Whether the amount has digits past the cents (0.0085, 8369.006; not 1.5000)."""
    return amount != amount.quantize(CENTS)


def shown_amount(amount: Decimal) -> Decimal:
    """The amount with the places it is shown with everywhere (pages, exports): two, or
    the digits it has past the cents without trailing zeros (1.5000 → 1.50, 0.0085 stays,
    8369.0060 → 8369.006)."""
    if not has_sub_cents(amount):
        return amount.quantize(CENTS)
    return amount.quantize(Decimal(1).scaleb(amount.normalize().as_tuple().exponent))


def format_money(amount, currency: str = "") -> str:
    """`Decimal("1234.5"), "USD"` → "1,234.50 USD"; "—" where there is no amount. Two
    decimals unless the amount has digits past the cents, which all show (0.0085; 8369.0060
    as 8,369.006): the one way every page, the admin and the exports write an amount, never
    without its currency where it has one (the templates' `money` filter)."""
    if amount is None or amount == "":
        return "—"
    text = f"{shown_amount(Decimal(amount)):,f}"
    return f"{text} {currency}".strip()


def money_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs
    )


def currency_field(**kwargs):
    kwargs.setdefault("help_text", "ISO 4217 code, e.g. USD or INR.")
    return models.CharField("currency", max_length=3, **kwargs)


def currency_is_iso_code(model_name, field="currency"):
    return models.CheckConstraint(
        condition=Q(**{f"{field}__regex": CURRENCY_REGEX}),
        name=f"{model_name}_{field}_iso_code",
        violation_error_message="Currency must be a 3-letter ISO 4217 code in capitals.",
    )


class MoneySum(Sum):
    """The sum of a money column as an exact Decimal (0 over no rows), on every database.

    PostgreSQL adds `numeric` exactly, so there the column is summed as it is: rounding and
    casting every row costs a third of a big report's time. SQLite would add the decimal
    column as binary floats (1.15 added 400 times gives 459.9999999999969), so there the
    database adds whole ten-thousandths as integers, which it adds exactly, and they come
    back as a Decimal with 4 places. Group by currency first: amounts of two currencies
    never add."""

    def __init__(self, field_name: str, places: int = MONEY_PLACES, **extra):
        # The declared type is SQLite's integer units, so no backend converter turns them
        # into a float-rounded Decimal first; `convert_value` makes every result a Decimal.
        # `places`: the column's decimal places (call costs keep more than ledger amounts).
        super().__init__(field_name, output_field=BigIntegerField(), **extra)
        self.places = places

    def as_sqlite(self, compiler, connection, **extra_context):
        column, *rest = self.get_source_expressions()
        in_units = self.copy()
        in_units.set_source_expressions(
            [Cast(Round(column * Value(10**self.places)), BigIntegerField()), *rest]
        )
        return super(MoneySum, in_units).as_sql(compiler, connection, **extra_context)

    @property
    def convert_value(self):
        return self._to_money

    def _to_money(self, value, expression, connection) -> Decimal:
        if connection.vendor == "sqlite":
            return Decimal(value or 0).scaleb(-self.places)
        return Decimal(0).scaleb(-self.places) if value is None else value


money_sum = MoneySum
