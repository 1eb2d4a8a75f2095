"""A hostile or broken upstream: real HTTP on a loopback port, one mode per misbehaviour.

    with HostileUpstream() as upstream:            # "sane" until told otherwise
        account.base_url = upstream.base_url("tryvox")
        upstream.misbehave("endless", target="numbers")

It speaks just enough of each provider's API (the paths and envelopes the adapters read)
to hold two numbers and two ledger entries per account. The mode applies to the requests of
its `target` list (owned numbers or transactions); every other request is answered sanely,
so a test sees the step under attack fail and the rest of the sync go on.

Modes:

| mode | what the target answers |
|---|---|
| sane | the two records, with totals that say so |
| endless | the same two records on every page, promising a billion more |
| repeated_offset | the same two records whatever page or offset is asked, total 500 |
| cursor_cycle | (Audian's Kazoo ledger) start → A → B → A …, new rows on each |
| flood | new records on every page without end (Ravan: one list that never ends) |
| huge_body | a valid answer padded with `huge_bytes` of whitespace |
| gzip_bomb | gzip that inflates to `bomb_bytes` (whitespace inside a valid answer) |
| trickle | a valid answer, one byte every `trickle_seconds` |
| silent | the request is read, and never answered |
| redirect | 302 to `redirect_to` (an address inside the network) |
| invalid_json | 200 with a body cut in the middle of the JSON |
| html | 200 with a web server's HTML page |

A fuse keeps a test of code without limits from running for ever: after `fuse_requests`
requests, or `fuse_seconds` of misbehaving, every answer is 503, and a slow answer gives
up after `fuse_seconds`. `delay_seconds` slows each answer of the target list.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import zlib
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PROVIDERS = ("audian", "vobiz", "ravan", "tryvox")
MODES = (
    "sane",
    "endless",
    "repeated_offset",
    "cursor_cycle",
    "flood",
    "huge_body",
    "gzip_bomb",
    "trickle",
    "silent",
    "redirect",
    "invalid_json",
    "html",
)
# Account ids and secrets the portal's accounts use against this server.
ACCOUNT_IDS = {
    "audian": "7c1e4b9a2f6d48e3b05a91c3d2e8f407",
    "vobiz": "MA_HOSTILE1",
    "ravan": "019a3f5e-8b2c-7d41-9e6f-2a8c4b1d7e90",
    "tryvox": "acct_hostile",
}
PAGE_SIZE = 100
BLOCK = 1 << 20  # bytes of padding written at a time
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head>"
    b"<body><h1>Welcome to nginx!</h1><p>If you see this page, the web server is "
    b"successfully installed.</p></body></html>"
)


def number(index: int) -> str:
    """A valid US number, distinct per index (+1 415 200-0000 upwards)."""
    return f"+1415{2_000_000 + index:07d}"


SANE_NUMBERS = (number(0), number(1))


# One owned number as each provider's listing spells it, but for what differs per number:
# its id (`NUMBER_IDS`, a format of the index; TryVox has none) and the number itself.
NUMBER_ROWS = {
    "tryvox": {
        "country": "US",
        "type": "local",
        "region": "CA",
        "status": "active",
        "capabilities": ["voice"],
        "monthly_fee": 1.25,
        "setup_fee": 0,
        "currency": "USD",
        "created_at": "2025-06-20T20:20:17Z",
    },
    "vobiz": {
        "country": "US",
        "region": "CA",
        "capabilities": {"voice": True},
        "status": "active",
        "setup_fee": 100,
        "monthly_fee": 200,
        "currency": "INR",
        "tags": [],
        "is_blocked": False,
        "purchased_at": "2026-01-13T14:30:26Z",
        "released_at": None,
    },
    "audian": {"friendly_name": "", "status": "active", "purchased_at": "2025-08-09T06:18:52Z"},
    "ravan": {
        "friendly_name": "",
        "price": 1.15,
        "region": "CA",
        "iso_country": "US",
        "is_active": True,
        "created_at": "2025-08-09T16:07:54Z",
    },
}
NUMBER_IDS = {"vobiz": "vb-{}", "audian": "num_{:016x}", "ravan": "rv-{}"}


def number_row(slug: str, index: int) -> dict:
    """The listing's record of number `index` (rows share their nested values: they are
    only ever written out as JSON)."""
    ids = {"id": NUMBER_IDS[slug].format(index)} if slug in NUMBER_IDS else {}
    key = "e164" if slug in ("tryvox", "vobiz") else "number"
    return {**ids, key: number(index), **NUMBER_ROWS[slug]}


def transaction_row(slug: str, index: int) -> dict:
    if slug == "vobiz":
        return {
            "id": f"txn_{index}",
            "type": "debit",
            "amount": 1.5,
            "currency": "INR",
            "description": "Calls",
            "reference": f"cdr_{index}",
            "reference_type": "cdr",
            "created_at": "2026-07-24T15:43:19Z",
        }
    return {
        "id": f"txn_{index}",
        "amount": 1.5,
        "description": "Outbound calls",
        "created": "2026-07-02T00:43:07Z",
        "type": "usage",
    }


@cache
def gzip_bomb(prefix: bytes, suffix: bytes, inflated: int) -> bytes:
    """gzip of `prefix`, `inflated` bytes of spaces, `suffix`: about 1/1000 of its size."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(prefix)]
    block = b" " * BLOCK
    for _ in range(inflated // BLOCK):
        parts.append(compressor.compress(block))
    parts += [compressor.compress(suffix), compressor.flush()]
    return b"".join(parts)


class HostileUpstream:
    """The server, its mode, and what it was asked (`requests`: method, path, Host)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.mode = "sane"
        self.target = "numbers"
        self.redirect_to = "http://10.0.0.1/"
        self.huge_bytes = 24 * BLOCK
        self.bomb_bytes = 100 * BLOCK
        self.trickle_seconds = 0.25
        self.delay_seconds = 0.0  # before each answer of the target list
        self.fuse_requests = 3000
        self.fuse_seconds = 40.0
        self.since = time.monotonic()
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def base_url(self, slug: str) -> str:
        return f"{self.url}/{slug}"

    def misbehave(self, mode: str, *, target: str = "numbers") -> None:
        assert mode in MODES, mode
        self.mode, self.target = mode, target
        self.since = time.monotonic()
        with self.lock:
            self.requests.clear()

    def prepare(self, slug: str) -> None:
        """Build ahead what takes long to build (a gzip bomb: seconds for 400 MB), so the
        answer starts at once, as a real one would."""
        if self.mode == "gzip_bomb":
            prefix, rows, suffix = _listing(slug, self.target, self.mode, {})
            gzip_bomb(prefix + rows, suffix, self.bomb_bytes)

    def target_requests(self) -> int:
        """How many requests of the target list came since `misbehave`."""
        with self.lock:
            return sum(_kind(path) == self.target for _, path, _ in self.requests)

    def __enter__(self) -> HostileUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _kind(path: str) -> str:
    """Which list a request reads: numbers, transactions, or something else."""
    rest = path.split("?", 1)[0].rstrip("/")
    if rest.endswith(("/numbers", "/phone-numbers/list")):
        return "numbers"
    if rest.endswith("/transactions"):
        return "transactions"
    return "other"


def _handler_for(upstream: HostileUpstream):
    class Handler(_Handler):
        pass

    Handler.upstream = upstream
    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: HostileUpstream

    def log_message(self, format, *args):  # quiet
        pass

    def do_GET(self):
        upstream = self.upstream
        with upstream.lock:
            upstream.requests.append(("GET", self.path, self.headers.get("Host", "")))
            count = len(upstream.requests)
        url = urlsplit(self.path)
        slug, _, rest = url.path.lstrip("/").partition("/")
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        kind = _kind(url.path)
        mode = upstream.mode if kind == upstream.target else "sane"
        blown = time.monotonic() - upstream.since > upstream.fuse_seconds
        if count > upstream.fuse_requests or (mode != "sane" and blown):
            return self._send(503, b'{"error": "fuse blown"}')
        if mode != "sane" and upstream.delay_seconds:
            time.sleep(upstream.delay_seconds)
        if mode == "silent":
            upstream.stopping.wait(upstream.fuse_seconds)
            self.close_connection = True
            return None
        if mode == "redirect":
            return self._send(302, b"", headers={"Location": upstream.redirect_to})
        if mode == "html":
            return self._send(200, HTML_PAGE, content_type="text/html")
        if mode == "invalid_json":
            return self._send(200, b'{"data": [{"e164": "+1415')
        if kind == "other":
            return self._send(*_other(slug, rest))
        prefix, rows, suffix = _listing(slug, kind, mode, query)
        if mode == "huge_body":
            return self._send_padded(prefix, rows, suffix, upstream.huge_bytes)
        body = prefix + rows + suffix
        if mode == "gzip_bomb":
            bomb = gzip_bomb(prefix + rows, suffix, upstream.bomb_bytes)
            return self._send(200, bomb, headers={"Content-Encoding": "gzip"})
        if mode == "trickle":
            return self._trickle(body)
        if mode == "flood" and slug == "ravan":
            return self._endless_list(prefix)
        return self._send(200, body)

    # --- answers ------------------------------------------------------------------------

    def _send(self, status, body: bytes, *, content_type="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        # The client may have given up: that is what a test of limits wants.
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def _headers(self, length: int | None = None):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _send_padded(self, prefix: bytes, rows: bytes, suffix: bytes, padding: int):
        """The answer with `padding` bytes of whitespace after the rows, still valid JSON."""
        self._headers(len(prefix) + len(rows) + padding + len(suffix))
        try:
            self.wfile.write(prefix + rows)
            block = b" " * BLOCK
            for _ in range(padding // BLOCK):
                if self.upstream.stopping.is_set():
                    return
                self.wfile.write(block)
            self.wfile.write(b" " * (padding % BLOCK) + suffix)
        except OSError:
            pass

    def _trickle(self, body: bytes):
        self._headers(len(body))
        started = time.monotonic()
        try:
            for index in range(len(body)):
                if time.monotonic() - started > self.upstream.fuse_seconds:
                    return
                if self.upstream.stopping.wait(self.upstream.trickle_seconds):
                    return
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
        except OSError:
            pass

    def _endless_list(self, prefix: bytes):
        """Ravan's one list, with a new number after the other and no end (until the
        client hangs up or the fuse blows: then the body simply stops)."""
        self._headers()
        started = time.monotonic()
        try:
            self.wfile.write(prefix)
            index = 0
            while time.monotonic() - started < self.upstream.fuse_seconds:
                if self.upstream.stopping.is_set():
                    return
                rows = [number_row("ravan", index + offset) for offset in range(PAGE_SIZE)]
                self.wfile.write(("," if index else "").encode() + _rows(rows))
                index += PAGE_SIZE
        except OSError:
            pass


def _rows(rows: list[dict]) -> bytes:
    return json.dumps(rows)[1:-1].encode()


def _listing(slug: str, kind: str, mode: str, query: dict) -> tuple[bytes, bytes, bytes]:
    """(what comes before the rows, the rows, what follows them) of one page."""
    make = number_row if kind == "numbers" else transaction_row
    page = int(query.get("page", 1) or 1)
    offset = int(query.get("offset", 0) or 0)
    start_key = query.get("start_key", "")
    next_key = None
    endless = 1_000_000_000
    if mode == "endless":
        indexes, total = [0, 1], endless
        sent = int(start_key[1:]) if start_key[1:].isdigit() else 0
        next_key = f"k{sent + 1}"
    elif mode == "repeated_offset":
        indexes, total = [0, 1], 500
    elif mode == "cursor_cycle":
        indexes = {"": [0, 1], "A": [2], "B": [3]}.get(start_key, [4])
        total, next_key = 4, {"": "A", "A": "B", "B": "A"}.get(start_key, "A")
    elif mode == "flood":
        first = offset if "offset" in query else (page - 1) * PAGE_SIZE
        if start_key:
            first = int(start_key[1:])
        indexes, total = list(range(first, first + PAGE_SIZE)), endless
        next_key = f"f{first + PAGE_SIZE}"
    else:
        first = offset if "offset" in query else (page - 1) * PAGE_SIZE
        indexes, total = [index for index in (0, 1) if index >= first], 2
    rows = _rows([make(slug, index) for index in indexes])
    if slug == "tryvox":
        pages = total if total == endless else max(1, -(-total // 2))
        return b'{"data": [', rows, b'], "pagination": {"total_pages": %d}}' % pages
    if slug == "vobiz":
        key = b"items" if kind == "numbers" else b"transactions"
        return b'{"' + key + b'": [', rows, b'], "total": %d}' % total
    if slug == "audian" and kind == "numbers":
        return (b'{"success": true, "data": {"numbers": [', rows, b'], "total": %d}}' % total)
    if slug == "audian":
        cursor = b', "next_start_key": "%s"' % next_key.encode() if next_key else b""
        return b'{"status": "success", "data": [', rows, b"]" + cursor + b"}"
    return b'{"success": true, "data": [', rows, b"]}"


# Sane answers to a call-record listing: no calls (each in its provider's envelope).
NO_CALLS = {
    "audian": b'{"status": "success", "data": []}',
    "vobiz": b'{"success": true, "data": [], "pagination": {"page": 1, "per_page": 100, '
    b'"total": 0, "pages": 0, "has_next": false, "has_prev": false}}',
    "ravan": b'{"data": [], "meta": {"total": 0, "limit": 100, "offset": 0}}',
    "tryvox": b'{"calls": [], "pagination": {"page": 1, "per_page": 100, "total_pages": 0, '
    b'"total_count": 0}}',
}


def _other(slug: str, rest: str) -> tuple[int, bytes]:
    """Sane answers to what is not under attack: balances, no calls; no service plans."""
    if rest.endswith(("/cdrs", "/cdr", "calling/call-sessions", "/calls")):
        return 200, NO_CALLS[slug]
    if "balance" in rest or rest.startswith("organizations/profile"):
        return 200, {
            "audian": b'{"status": "success", "data": {"balance": 10, "currency": "USD"}}',
            "vobiz": b'{"balance": 10, "currency": "INR"}',
            "ravan": b'{"data": {"total_credits": 10}}',
            "tryvox": b'{"balance": 10, "currency": "USD"}',
        }[slug]
    return 404, b'{"error": "not found"}'
