"""A number's detail page (the numbers list has its own tests in test_number_list.py, the
transactions list in test_transactions.py)."""

import pytest

from tests.support.factories import PhoneNumberFactory, ProviderAccountFactory


@pytest.fixture
def numbers(db):
    account = ProviderAccountFactory(name="Audian main")
    return [
        PhoneNumberFactory(account=account, number="+14155550100", label="Acme support"),
        PhoneNumberFactory(account=account, number="+14155550101", upstream_label="Globex"),
        PhoneNumberFactory(account=account, number="+12125550199"),
    ]


def test_number_detail_shows_fields(client, finance_user, numbers):
    client.force_login(finance_user)
    html = client.get(numbers[0].get_absolute_url()).content.decode()
    assert "+1 415-555-0100" in html
    assert "Acme support" in html
    assert "0.99 USD" in html
