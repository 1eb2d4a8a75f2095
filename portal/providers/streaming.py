"""Reading one big JSON list as it arrives: the items of `{"data": [...], ...}` one at a
time, so a listing of 100,000 numbers or a ledger of a million entries never sits in memory
whole (Ravan lists every number in one answer, Audian its whole ledger).

The object's structure (its members, the list's brackets and commas) is walked here; each
item and each other member is parsed by `parsing.DECODER`, json's C scanner, so values are
exactly what `parsing.loads` gives (integers as int, other numbers as Decimal, NaN and
Infinity refused) at nearly its speed. The other members (the envelope: `success`, `status`,
`next_start_key`…) are small, kept, and judged by the adapter.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from portal.providers import parsing
from portal.providers.errors import UnexpectedResponse

EXCERPT_CHARS = 300  # the start of the body, kept for an error's excerpt
# One item (or envelope member) larger than this is not a listing's record: refused rather
# than buffered without end.
MAX_VALUE_CHARS = 16 * 1024 * 1024
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_AFTER_NUMBER = frozenset(" \t\n\r,]}")
_JSON_VALUE_STARTS = frozenset('[{"-0123456789tfn')


class ListStream:
    """Iterate to get the items of the top-level member `key`; afterwards `envelope` holds
    the other top-level members, with `key` mapped to an empty list.

    `check(envelope)` is called when the list begins, with the members seen so far, and
    again at the end with all of them: an envelope that says "failed" before its list is
    refused before any item is used; one that says so after it, once the items are read.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        key: str,
        provider: str,
        check: Callable[[Mapping[str, Any]], object] = lambda envelope: None,
    ):
        self.text = _Text(chunks, provider)
        self.key = key
        self.provider = provider
        self.check = check
        self.envelope: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        text = self.text
        first = text.next_char()
        if first != "{":
            # Another JSON value is the wrong shape; anything else (an HTML page) not JSON.
            if first not in _JSON_VALUE_STARTS:
                raise text.not_json()
            raise self._unexpected("expected an object")
        members: dict[str, Any] = {}
        seen_list = False
        more = text.peek() != "}"
        if not more:
            text.next_char()
        while more:
            name = text.value()
            if not isinstance(name, str) or text.next_char() != ":":
                raise text.not_json()
            if name == self.key:
                if seen_list:  # json.loads would keep the last: items already went out
                    raise self._unexpected(f"{self.key} appears twice")
                if text.peek() != "[":
                    raise self._unexpected(f"{self.key}: expected a list")
                seen_list = True
                self.check({**members, self.key: []})
                yield from self._items()
            else:
                members[name] = text.value()
            more = text.separator("}")
        text.end()
        if not seen_list:
            # Not an empty listing: one that lost its list, which must never read as "the
            # account holds nothing" (a sync would release every number).
            raise self._unexpected(f"{self.key} is missing")
        members[self.key] = []
        self.envelope = members
        self.check(members)

    def _items(self) -> Iterator[Any]:
        text = self.text
        text.next_char()  # [
        if text.peek() == "]":
            text.next_char()
            return
        while True:
            yield text.value()
            if not text.separator("]"):
                return

    def _unexpected(self, problem: str) -> UnexpectedResponse:
        return UnexpectedResponse(
            f"response: {problem}", provider=self.provider, excerpt=self.text.excerpt()
        )


class _Text:
    """The body's text, decoded as it arrives, read from the front: what has been read is
    dropped, so only the value being parsed (and a chunk) is held."""

    def __init__(self, chunks: Iterable[bytes], provider: str):
        self.chunks = iter(chunks)
        self.provider = provider
        # utf-8-sig: a byte order mark, which json.loads accepts, is not part of the text.
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer = ""
        self.pos = 0
        self.finished = False
        self.head = ""
        self.received = False

    def _fill(self, at_least: int = 1) -> bool:
        """Append the next chunks' text, `at_least` characters of it unless the body ends
        first; False once the body has ended and nothing came."""
        texts, count = [], 0
        while count < at_least and not self.finished:
            try:
                chunk = next(self.chunks, None)
                text = self.decoder.decode(chunk or b"", final=chunk is None)
            except UnicodeDecodeError as exc:
                raise self.not_json() from exc
            if chunk is None:
                self.finished = True
            elif chunk.strip():
                self.received = True  # whitespace alone is still an empty body
            if len(self.head) < EXCERPT_CHARS:
                self.head += text[: EXCERPT_CHARS - len(self.head)]
            texts.append(text)
            count += len(text)
        # Drop what has been read once it is most of the buffer (copying it seldom).
        if self.pos > len(self.buffer) // 2:
            self.buffer, self.pos = self.buffer[self.pos :], 0
        self.buffer += "".join(texts)
        return count > 0

    def _skip_whitespace(self):
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer) or not self._fill():
                return

    def peek(self) -> str:
        self._skip_whitespace()
        if self.pos >= len(self.buffer):
            raise self.not_json()
        return self.buffer[self.pos]

    def next_char(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def separator(self, closing: str) -> bool:
        """After a value: True for a comma (more follow), False for `closing`."""
        char = self.next_char()
        if char not in (",", closing):
            raise self.not_json()
        return char == ","

    def value(self) -> Any:
        """The next JSON value, parsed whole by json's scanner."""
        self._skip_whitespace()
        while True:
            try:
                value, end = parsing.DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                end = None  # perhaps only cut by the chunk's end: read on, then try again
            except (ValueError, RecursionError) as exc:  # NaN, or nested beyond measure
                raise self.not_json() from exc
            if end is not None and self._whole(value, end):
                self.pos = end
                return value
            pending = len(self.buffer) - self.pos
            if pending > MAX_VALUE_CHARS:
                raise UnexpectedResponse(
                    f"response: a value longer than {MAX_VALUE_CHARS:,} characters",
                    provider=self.provider,
                    excerpt=self.excerpt(),
                )
            # Parsed again only once its text has doubled: a big value costs a few parses,
            # not one per chunk.
            if not self._fill(at_least=max(pending, 1)):
                raise self.not_json()

    def _whole(self, value: Any, end: int) -> bool:
        """Whether the value parsed up to `end` is all of it. A number cut by the chunk's
        (or a cut-off body's) end parses as a shorter one ("12" of 125, "1" of "1e5"): it
        is whole only once what follows it is a delimiter. Inside the document something
        always follows a value, so a value at the very end is never taken as whole."""
        if end >= len(self.buffer):
            return False
        if isinstance(value, int | Decimal):
            return self.buffer[end] in _AFTER_NUMBER
        return True

    def end(self):
        """Nothing but whitespace may follow the document."""
        self._skip_whitespace()
        if self.pos < len(self.buffer):
            raise self.not_json()

    def excerpt(self) -> str:
        return parsing.excerpt(self.head)

    def not_json(self) -> UnexpectedResponse:
        if not self.received:
            return UnexpectedResponse("empty response body", provider=self.provider)
        return UnexpectedResponse(
            "response is not JSON", provider=self.provider, excerpt=self.excerpt()
        )
