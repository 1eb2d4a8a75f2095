from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from portal.phone import country_of, format_international, normalize_e164
from portal.templatetags.portal_tags import money


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
