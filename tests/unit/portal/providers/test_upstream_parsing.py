from datetime import UTC, datetime
from decimal import Decimal

import pytest

from portal.providers import parsing
from portal.providers.errors import UnexpectedResponse


def test_json_numbers_become_exact_decimals():
    body = parsing.loads(b'{"price": 0.0085, "fee": 2.50, "count": 3, "big": 12345678901.1234}')
    assert body == {
        "price": Decimal("0.0085"),
        "fee": Decimal("2.50"),
        "count": 3,
        "big": Decimal("12345678901.1234"),
    }


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b'{"a": Infinity}', b"not json"])
def test_non_numbers_and_non_json_are_refused(raw):
    with pytest.raises(ValueError):
        parsing.loads(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.99"), Decimal("0.99")),
        (3, Decimal("3")),
        ("0.0130", Decimal("0.0130")),
        (Decimal("10.179999999999999716"), Decimal("10.1800")),  # Kazoo float noise
    ],
)
def test_to_money(value, expected):
    assert parsing.to_money(value) == expected
    assert str(parsing.to_money(value)) == str(expected)


@pytest.mark.parametrize("value", [0.5, True, None, "", "abc", [], {}, "NaN"])
def test_to_money_refuses_what_is_not_an_amount(value):
    with pytest.raises(TypeError):
        parsing.to_money(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-01T00:00:00Z", datetime(2026, 2, 1, tzinfo=UTC)),
        ("2026-03-25T06:58:38.796024Z", datetime(2026, 3, 25, 6, 58, 38, 796024, tzinfo=UTC)),
        ("2026-03-25T12:00:00+05:30", datetime(2026, 3, 25, 6, 30, tzinfo=UTC)),
        ("2026-03-25T06:00:00", datetime(2026, 3, 25, 6, tzinfo=UTC)),
        (63598331974, datetime(2015, 5, 8, 19, 19, 34, tzinfo=UTC)),  # Gregorian seconds
    ],
)
def test_to_datetime(value, expected):
    assert parsing.to_datetime(value) == expected


def test_reader_names_the_missing_or_mistyped_field_and_hides_secrets():
    reader = parsing.Reader(
        {"auth_token": "tok-123", "e164": "+14155550100", "fee": "x"}, "number", provider="Audian"
    )
    assert reader.e164("e164") == "+14155550100"
    with pytest.raises(UnexpectedResponse) as missing:
        reader.str("label")
    assert "number: label is missing" in str(missing.value)
    assert "tok-123" not in missing.value.excerpt
    assert "[redacted]" in missing.value.excerpt
    with pytest.raises(UnexpectedResponse, match="number: fee"):
        reader.money("fee")
    with pytest.raises(UnexpectedResponse, match="expected an object"):
        parsing.Reader(["not", "an", "object"])


def test_reader_optional_fields():
    reader = parsing.Reader({"label": None, "n": 2}, "x")
    assert reader.str("label", "") == ""
    assert reader.money("fee", required=False) is None
    assert reader.int("n") == 2
    with pytest.raises(UnexpectedResponse):
        parsing.Reader({"n": True}).int("n")


def test_excerpt_is_short_and_secret_free():
    text = parsing.excerpt(b'{"api_key": "k", "items": [' + b'"x",' * 500 + b'"y"]}')
    assert len(text) <= parsing.EXCERPT_LENGTH
    assert '"k"' not in text


def test_stable_id_is_stable_and_distinct():
    a = parsing.stable_id("2026-01-01", "25.00", "rental")
    assert a == parsing.stable_id("2026-01-01", "25.00", "rental")
    assert a != parsing.stable_id("2026-01-01", "25.00", "rental ")


def test_retry_after():
    assert parsing.retry_after("3") == 3
    assert parsing.retry_after(None) is None
    assert parsing.retry_after("soon") is None
    assert parsing.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0


# --- Regressions found by fuzzing the adapters (test_upstream_fuzz.py) -------------------


@pytest.mark.parametrize(
    "value",
    [
        10**40,
        Decimal("1E+400"),
        Decimal("12345678901234567890123456789.00001"),  # quantizing it overflowed
        Decimal("9999999999.99999"),  # rounds up to 11 digits
        "-10000000000",
    ],
)
def test_to_money_refuses_amounts_larger_than_the_portal_holds(value):
    with pytest.raises(TypeError, match="larger than any amount"):
        parsing.to_money(value)


def test_to_money_keeps_the_largest_amount_the_portal_holds():
    assert parsing.to_money("9999999999.9999") == Decimal("9999999999.9999")


@pytest.mark.parametrize(
    "value", [10**20, -(10**20), "9999-12-31T23:59:59-05:00", "0001-01-01T00:00+01:00"]
)
def test_to_datetime_refuses_dates_outside_what_datetime_holds(value):
    with pytest.raises(TypeError):
        parsing.to_datetime(value)


def test_to_datetime_gives_utc():
    assert parsing.to_datetime("2026-03-25T12:00:00+05:30").tzinfo is UTC


def test_deeply_nested_json_is_not_json_to_the_portal():
    with pytest.raises(ValueError, match="nested too deeply"):
        parsing.loads("[" * 100_000)


@pytest.mark.parametrize("value", ["usd", "US", "USDT", "", 840, None, "€€€"])
def test_reader_refuses_a_currency_that_is_not_an_iso_code(value):
    with pytest.raises(UnexpectedResponse, match="currency"):
        parsing.Reader({"currency": value}).currency("currency")
    assert parsing.Reader({}).currency("currency", "USD") == "USD"
