"""Big listings read as they arrive (portal.providers.streaming): the same values as parsing
the whole answer, however the body is cut into chunks; a body cut short or broken is an
UnexpectedResponse after the items before the break; and the first record reaches the
sync before the upstream has finished sending."""

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.providers import adapter_class, parsing
from portal.providers.base import AccountConfig
from portal.providers.errors import UnexpectedResponse
from portal.providers.sandbox.server import SandboxThread
from portal.providers.streaming import ListStream

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
members = st.dictionaries(st.text(max_size=8).filter(lambda key: key != "data"), values)


def chunked(raw: bytes, size: int) -> list[bytes]:
    return [raw[start : start + size] for start in range(0, len(raw), size)]


def stream(raw: bytes, size: int, **kwargs) -> tuple[list, ListStream]:
    listing = ListStream(chunked(raw, size), key="data", provider="Test", **kwargs)
    return list(listing), listing


@given(
    items=st.lists(values, max_size=8),
    before=members,
    after=members,
    size=st.integers(1, 40),
)
def test_items_and_envelope_are_what_parsing_the_whole_answer_gives(items, before, after, size):
    raw = parsing.dumps({**before, "data": items, **after}).encode()
    whole = parsing.loads(raw)

    got, listing = stream(raw, size)

    assert got == whole["data"]
    assert [type(item) for item in got] == [type(item) for item in whole["data"]]
    assert listing.envelope == {**whole, "data": []}


LEDGER = (
    b'{"auth_token": "abc123", "data": [{"id": "t1", "amount": 0.99, "n": 12500}, '
    b'{"id": "t2", "amount": 1e3, "tags": ["a", "b"]}, 42, "x", [1, 2.50]], '
    b'"next_start_key": "t3", "status": "success"}'
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_a_body_cut_anywhere_gives_the_items_before_the_cut_then_an_error(size):
    whole = parsing.loads(LEDGER)["data"]
    for cut in range(len(LEDGER)):
        listing = ListStream(chunked(LEDGER[:cut], size), key="data", provider="Test")
        got = []
        with pytest.raises(UnexpectedResponse) as error:
            got.extend(listing)
        # Never a wrong item (12500 cut to 125, 1e3 to 1): a prefix of the real ones.
        assert got == whole[: len(got)], cut
        assert "abc" not in str(error.value.excerpt)  # not even part of the token


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "empty response body"),
        (b"  \n", "empty response body"),
        (b"[1, 2]", "expected an object"),
        (b'{"data": {"a": 1}}', "data: expected a list"),
        (b'{"data": [NaN]}', "not JSON"),
        (b'{"data": [1 2]}', "not JSON"),
        (b'{"data": []} trailing', "not JSON"),
        (b'{"data": ["\xff"]}', "not JSON"),
        # No list at all is not an empty list: a sync would release every number.
        (b'{"success": true}', "data is missing"),
        (b'{"success": true, "numbers": [1]}', "data is missing"),
        (b"{}", "data is missing"),
        (b'{"data": [1], "data": [2]}', "data appears twice"),
    ],
)
def test_what_is_not_a_listing_is_an_unexpected_response(raw, problem):
    with pytest.raises(UnexpectedResponse, match=problem):
        stream(raw, 3)


def test_a_byte_order_mark_is_not_part_of_the_text():
    assert stream(b'\xef\xbb\xbf{"data": [1]}', 2)[0] == [1]


def test_a_big_item_is_parsed_a_few_times_not_once_per_chunk(monkeypatch):
    item = {"description": "x" * 2_000_000}
    raw = parsing.dumps({"data": [item, 1]}).encode()
    parses = []
    decode = parsing.DECODER.raw_decode

    class Counting:
        def raw_decode(self, text, index):
            parses.append(index)
            return decode(text, index)

    monkeypatch.setattr(parsing, "DECODER", Counting())

    assert stream(raw, 4096)[0] == [item, 1]
    assert len(parses) < 40  # ~500 chunks: doubling, not one attempt per chunk


def test_the_envelope_is_judged_before_the_list_and_after_it():
    seen = []
    stream(b'{"success": true, "data": [1], "next": "k"}', 4, check=seen.append)
    assert seen == [{"success": True, "data": []}, {"success": True, "data": [], "next": "k"}]

    def refuse(envelope):
        if envelope.get("success") is False:
            raise UnexpectedResponse("success is false", provider="Test")

    with pytest.raises(UnexpectedResponse):
        stream(b'{"success": false, "data": [1, 2]}', 4, check=refuse)


class Trickle:
    """A WSGI app answering Ravan's listing in two parts: the first records, then, only once
    `received` is set (the client has its first record) or after `patience`, the rest."""

    def __init__(self, records: int, patience: float = 5.0):
        numbers = [
            f'{{"id": "pn_{n}", "number": "+1415555{n:04d}", "is_active": true}}'
            for n in range(records)
        ]
        body = '{"success": true, "data": [' + ", ".join(numbers) + "]}"
        self.head, self.tail = body[: len(body) // 3].encode(), body[len(body) // 3 :].encode()
        self.received = threading.Event()
        self.patience = patience
        self.waited = False

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        yield self.head
        self.waited = not self.received.wait(self.patience)
        yield self.tail


def test_the_first_record_arrives_before_the_answer_has_finished():
    trickle = Trickle(records=300)
    with SandboxThread(trickle) as url:
        config = AccountConfig(f"{url}/api/v1", "org_1", "key")
        with adapter_class("ravan")(config) as ravan:
            listing = ravan.iter_owned_numbers()
            first = next(listing)
            trickle.received.set()
            rest = list(listing)

    assert first.number == "+14155550000"
    assert not trickle.waited, "the client waited for the whole answer"
    assert len(rest) == 299
