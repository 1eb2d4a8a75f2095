"""Reading an answer's body within a size limit and a deadline, whatever it is made of.

Every body is read as it arrives (`httpx.Client.send(stream=True)`, then `iter_raw`),
decompressed here a bounded piece at a time, and counted after decompression: an answer past
its limit fails with "response larger than N MB" once the limit is passed, so a gzip body
that inflates to hundreds of megabytes costs one piece of memory, not all of it. (httpx's
own decoders, behind `iter_bytes`, inflate each network chunk whole: 64 KB of gzip may
become 64 MB at once.) The deadline is checked between chunks, and each socket read is cut
short at it (portal.providers.network), so a body trickling a byte a second ends on time.
A whole list streamed over many minutes also keeps a pace (`Pace`): a trickle ends as soon
as a window passes without its share of bytes, not at the end of the run.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from portal.providers.deadlines import Deadline, duration_words, reads_until
from portal.providers.errors import DeadlineExceeded, ResponseTooLarge, UnexpectedResponse

# The most one decompression step produces (and so holds) at a time.
PIECE_BYTES = 64 * 1024
# What the portal asks for and reads; an answer in another encoding is refused.
ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True)
class Pace:
    """At least `least_bytes` (after decompression) in every `seconds`: what a body streamed
    for longer than one request may take must keep coming. Far below any real link (64 KB a
    minute is about 1 KB/s), far above a trickle."""

    seconds: float
    least_bytes: int = 64 * 1024

    def error(self, provider: str) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"{provider} took longer than {duration_words(self.seconds)} to send the next "
            f"{self.least_bytes // 1024} KB of its list (UPSTREAM_REQUEST_DEADLINE)",
            provider=provider,
        )


def chunks(
    response: httpx.Response,
    *,
    limit: int,
    deadline: Deadline,
    provider: str,
    pace: Pace | None = None,
) -> Iterator[bytes]:
    """The body of `response`, decompressed, in pieces of at most PIECE_BYTES. Raises
    ResponseTooLarge past `limit` bytes (after decompression), the deadline's error once it
    passes, and the pace's once a window passes without its bytes; other transport errors
    are httpx's, for the caller."""
    if pace is None:
        yield from _chunks(response, limit, deadline, provider, lambda received: deadline)
        return
    window = _PaceWindow(pace, deadline)
    try:
        yield from _chunks(response, limit, deadline, provider, window.until)
    except (httpx.TransportError, DeadlineExceeded) as exc:
        if window.overdue():
            raise pace.error(provider) from exc
        raise


class _PaceWindow:
    """The window a Pace is judged over: it starts again whenever its bytes have come."""

    def __init__(self, pace: Pace, deadline: Deadline):
        self.pace, self.deadline = pace, deadline
        self.started, self.received = time.monotonic(), 0

    def until(self, received: int) -> Deadline:
        """When the next read must be done: the earlier of the deadline and the window's end."""
        if received - self.received >= self.pace.least_bytes:
            self.started, self.received = time.monotonic(), received
        end = self.started + self.pace.seconds
        return self.deadline if self.deadline.at <= end else Deadline(end, self.pace.seconds)

    def overdue(self) -> bool:
        """The window ended before the deadline did, without its bytes."""
        end = self.started + self.pace.seconds
        return end < self.deadline.at and time.monotonic() >= end


def _chunks(response, limit: int, deadline: Deadline, provider: str, until) -> Iterator[bytes]:
    if response.is_stream_consumed:
        # Built whole in memory (httpx.MockTransport): already read, and decoded.
        decoder, raw = _Identity(), iter([response.content])
    else:
        decoder = _decoder(response.headers.get("Content-Encoding", ""), provider)
        raw = response.iter_raw()
    received = 0
    while True:
        current = until(received)
        if current.passed():
            raise current.error(provider)  # a pace window's is reworded by `chunks`
        with reads_until(current):
            data = next(raw, None)
        for piece in decoder.decode(data) if data is not None else decoder.flush():
            received += len(piece)
            if received > limit:
                raise ResponseTooLarge(
                    f"response larger than {megabytes(limit)}: refused", provider=provider
                )
            yield piece
        if data is None:
            return


def read(response: httpx.Response, **limits) -> bytes:
    """The whole body of `response`, within the limits of `chunks`."""
    return b"".join(chunks(response, **limits))


def megabytes(size: int) -> str:
    """A byte limit in words: "20 MB", "0.5 MB"."""
    value = size / (1024 * 1024)
    return f"{value:g} MB" if value >= 1 else f"{value:.2g} MB"


class _Identity:
    def decode(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), PIECE_BYTES):
            yield data[start : start + PIECE_BYTES]

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Inflate:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), inflated at most
    PIECE_BYTES at a time: the rest of the input waits in `unconsumed_tail`."""

    def __init__(self, encoding: str, provider: str):
        self.encoding = encoding
        self.provider = provider
        self.inflater = None

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self.inflater is None:
            if not data:
                return
            self.inflater = zlib.decompressobj(self._wbits(data))
        try:
            while True:
                piece = self.inflater.decompress(data, PIECE_BYTES)
                data = self.inflater.unconsumed_tail
                if piece:
                    yield piece
                if not data and len(piece) < PIECE_BYTES:
                    return
        except zlib.error as exc:
            raise self._broken() from exc

    def flush(self) -> Iterator[bytes]:
        if self.inflater is None:
            return
        yield from self.decode(b"")
        if not self.inflater.eof:
            raise self._broken()

    def _wbits(self, first: bytes) -> int:
        if self.encoding in ("gzip", "x-gzip"):
            return 16 + zlib.MAX_WBITS
        # RFC 9110 deflate is zlib-wrapped; a header is 0x78 0x?? divisible by 31.
        zlib_header = (
            len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        )
        return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS

    def _broken(self) -> UnexpectedResponse:
        return UnexpectedResponse(
            f"the answer could not be decompressed ({self.encoding})", provider=self.provider
        )


def _decoder(header: str, provider: str):
    encodings = [part.strip().lower() for part in header.split(",") if part.strip()]
    encodings = [encoding for encoding in encodings if encoding != "identity"]
    if not encodings:
        return _Identity()
    if len(encodings) == 1 and encodings[0] in ("gzip", "x-gzip", "deflate"):
        return _Inflate(encodings[0], provider)
    raise UnexpectedResponse(
        f"the answer is encoded as {header!r}, which the portal did not ask for",
        provider=provider,
    )
