"""Every filter of the number search holds for every offer shown, whichever provider made
it: what an upstream cannot filter itself, the portal does (issue 16, point 3). Against the
four sandbox providers over real HTTP on loopback."""

from urllib.parse import parse_qsl, urlencode

import phonenumbers
import pytest
from django.urls import reverse

from numbers.selectors import search
from portal.providers.base import SearchQuery
from portal.providers.sandbox import build_app
from portal.providers.sandbox.server import SandboxThread
from tests.support.world import SLUGS


def national(number: str) -> str:
    return phonenumbers.national_significant_number(phonenumbers.parse(number))


# Each filter, and what every offer it lets through must be, said without the portal's code.
FILTERS = {
    "toll-free": (
        SearchQuery(country="US", number_type="toll_free"),
        lambda offer: offer.number_type == "toll_free",
    ),
    "local": (
        SearchQuery(country="US", number_type="local"),
        lambda offer: offer.number_type == "local",
    ),
    "sms": (
        SearchQuery(country="US", capabilities=frozenset({"sms"})),
        lambda offer: "sms" in offer.capabilities,
    ),
    "area code 512": (
        SearchQuery(country="US", area="512"),
        lambda offer: national(offer.number).startswith("512"),
    ),
    "contains 55": (
        SearchQuery(country="US", contains="55"),
        lambda offer: "55" in offer.number,
    ),
}


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("name", FILTERS)
def test_no_offer_contradicts_the_filter(market, name, slug):
    query, holds = FILTERS[name]

    results = search.search_numbers(query)

    assert results.failures == []
    assert results.offers, "some provider has such numbers: the check is not vacuous"
    theirs = [offer.available for offer in results.offers if offer.account.provider.slug == slug]
    assert [offer.number for offer in theirs if not holds(offer)] == []


def test_the_toll_free_page_shows_only_toll_free_numbers(client, support_user, market):
    client.force_login(support_user)

    response = client.get(reverse("numbers:search"), {"country": "US", "number_type": "toll_free"})

    offers = response.context["results"].offers
    assert offers and {offer.available.number_type for offer in offers} == {"toll_free"}
    html = response.content.decode()
    assert 'data-provider="ravan"' not in html  # Ravan sells only local numbers here
    assert "Local ·" not in html


def without_type_filter(app):
    """The sandbox, but TryVox's inventory ignores `type`, as an upstream may ignore a
    filter it does not know."""

    def application(environ, start_response):
        if environ["PATH_INFO"].endswith("/inventory/numbers"):
            query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            environ["QUERY_STRING"] = urlencode([(k, v) for k, v in query if k != "type"])
        return app(environ, start_response)

    return application


def test_a_filter_the_upstream_ignores_is_applied_by_the_portal(market):
    with SandboxThread(without_type_filter(build_app(market.state))) as url:
        market.point("tryvox", url)
        results = search.search_numbers(SearchQuery(country="US", number_type="toll_free"))

    tryvox = [o.available for o in results.offers if o.account.provider.slug == "tryvox"]
    assert tryvox and {offer.number_type for offer in tryvox} == {"toll_free"}
