"""Each adapter's purchase sends exactly the body fields its provider documents, no more:
a strict API answers 400 to a field it does not know (issue 16, point 7). Against the
sandbox over real HTTP on loopback, the bodies read as the server received them."""

import pytest

from portal.providers.base import SearchQuery
from portal.providers.parsing import loads
from portal.providers.sandbox import build_app
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from tests.support.sandbox import Sandbox

# provider → (country its demo account buys in, the documented purchase body fields)
DOCUMENTED = {
    # audian.md §2.4-R (SEED-000): `number`, and the label as `friendly_name`.
    "audian": ("US", {"number", "friendly_name"}),
    # ravan.md §2.4 (SEED-003): the number and the prices its search quoted, echoed back.
    "ravan": (
        "US",
        {"phone_number", "price", "per_minute_price_inbound", "per_minute_price_outbound"},
    ),
    # tryvox.md §2.4 (SEED-004): `e164` and `country`, nothing else.
    "tryvox": ("US", {"e164", "country"}),
    # vobiz.md §2.4 (SEED-002): `e164`, and `currency` (optional).
    "vobiz": ("IN", {"e164", "currency"}),
}


def recording(app, bodies: list):
    """The sandbox, remembering the JSON body of every POST it receives."""

    def application(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length)
            bodies.append(loads(raw))
            environ["wsgi.input"] = _Replay(raw)
        return app(environ, start_response)

    return application


class _Replay:
    def __init__(self, raw: bytes):
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        raw, self.raw = self.raw, b""
        return raw


@pytest.mark.parametrize("slug", DOCUMENTED)
def test_a_quoted_purchase_sends_only_the_documented_fields(sandbox_state, slug):
    country, fields = DOCUMENTED[slug]
    bodies = []
    app = recording(build_app(sandbox_state, FaultConfig()), bodies)
    with SandboxThread(app) as url, Sandbox(sandbox_state, url).adapter(slug) as adapter:
        (quote,) = adapter.search_available(SearchQuery(country=country, limit=1))
        bought = adapter.purchase(quote.number, label="Front desk", quote=quote)

    assert bought.number == quote.number
    (body,) = bodies
    assert set(body) == fields
