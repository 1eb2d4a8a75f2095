"""A control character in a URL is bad input (400), never a 500.

PostgreSQL refuses NUL in text: `/admin/numbers/phonenumber/?status__exact=%00` reached the
database and answered 500 there. The same requests are asserted 400 on both backends.
"""

import pytest
from django.urls import reverse

from numbers.models import PhoneNumber
from tests.support.factories import PhoneNumberFactory

NUL_URLS = [
    "/admin/numbers/phonenumber/?status__exact=%00",
    "/admin/numbers/phonenumber/?q=%2B1%00",
    "/admin/portal/syncrun/?status__exact=runn%00ing",
    "/admin/portal/auditevent/?q=%00",
    "/admin/numbers/phonenumber/?%00=1",
]


@pytest.mark.parametrize("url", NUL_URLS)
def test_the_admin_answers_400_to_a_nul_in_a_filter(admin_client, url):
    assert admin_client.get(url).status_code == 400


@pytest.mark.parametrize("name", ["numbers:list", "billing:transactions", "numbers:orders"])
@pytest.mark.parametrize("value", ["%00", "a%01b", "%7F", "%1B%5B31m"])
def test_the_portals_lists_answer_400_to_control_characters(admin_client, name, value):
    assert admin_client.get(f"{reverse(name)}?q={value}").status_code == 400


def test_a_control_character_in_the_path_is_refused_too(admin_client):
    assert admin_client.get("/numbers/%00/").status_code == 400


@pytest.mark.parametrize("value", ["%09", "%0A", "%2B1%20415%0D%0A"])
def test_pasted_whitespace_is_not_refused(admin_client, value):
    PhoneNumberFactory()
    response = admin_client.get(f"{reverse('numbers:list')}?q={value}")
    assert response.status_code == 200
    assert PhoneNumber.objects.exists()
