from decimal import Decimal

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from portal.money import format_money as money
from portal.providers.phone import country_of, format_international, normalize_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (415) 555-0100", None, "+14155550100"),
        ("415 555 0100", "US", "+14155550100"),
        ("+91 98765 43210", None, "+919876543210"),
        ("098765 43210", "IN", "+919876543210"),
    ],
)
def test_normalize_e164(raw, region, expected):
    assert normalize_e164(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "   ", "hello", "+1 415", "415 555 0100"])
def test_normalize_e164_says_why_not(raw):
    with pytest.raises(ValidationError) as error:
        normalize_e164(raw)
    assert error.value.messages[0]


def _country_by_parsing(e164: str) -> str:
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    return "" if region in (None, "ZZ", "001") else region


def test_country_of_every_region_example_is_phonenumbers_own_answer():
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in range(11)
    ]
    numbers = {
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        for example in examples
        if example is not None
    }
    assert len(numbers) > 900
    assert {n: country_of(n) for n in numbers} == {n: _country_by_parsing(n) for n in numbers}
    assert country_of("+390669812345") == "VA"  # the Vatican: Italy's code, a leading zero
    assert country_of("+442079460000") == "GB"
    assert country_of("+441481720000") == "GG"  # same code, told apart by digits
    assert country_of("+77012345678") == "KZ"
    assert country_of("+80012345678") == ""  # international freephone: no country


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_country_of_any_e164_number_is_phonenumbers_own_answer(raw):
    try:
        e164 = normalize_e164(raw)
    except ValidationError:
        return
    assert country_of(e164) == _country_by_parsing(e164)


def test_country_and_display():
    assert country_of("+14155550100") == "US"
    assert country_of("+919876543210") == "IN"
    assert format_international("+14155550100") == "+1 415-555-0100"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("1234.5"), "USD", "1,234.50 USD"),
        (Decimal("0.0085"), "USD", "0.0085 USD"),
        (Decimal("-25.0000"), "INR", "-25.00 INR"),
        (Decimal("0"), "USD", "0.00 USD"),
        (None, "USD", "—"),
    ],
)
def test_money_display(amount, currency, shown):
    assert money(amount, currency) == shown


def test_money_shows_sub_cent_digits_without_padding_them_to_four():
    """Issue 17 (8): "8,369.0060" beside "13,648.97": two places, or the digits past the
    cents that the amount has, the same everywhere (pages, admin, exports)."""
    assert money(Decimal("8369.0060"), "INR") == "8,369.006 INR"
    assert money(Decimal("13648.9700"), "INR") == "13,648.97 INR"
    assert money(Decimal("40.0575")) == "40.0575"
    assert money(Decimal("-0.0010")) == "-0.001"
