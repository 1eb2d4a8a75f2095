"""The sandbox's small HTTP layer: requests, responses (exact-decimal JSON by
`parsing.dumps`), routing, and pages with the short-page fault."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx

from portal.providers.parsing import dumps, loads


class DropConnection(httpx.RemoteProtocolError):
    """Raised after a request was applied to close the connection without an answer (the
    ambiguous case). The sandbox server closes the socket; in-process (httpx.WSGITransport)
    the exception reaches the client as the transport error it stands for."""

    def __init__(self):
        super().__init__("sandbox dropped the connection after applying the request")


class BadJSON(ValueError):
    pass


@dataclass
class Request:
    method: str
    path: str  # percent-decoded, below the provider prefix, e.g. "/v2/numbers/+1415…"
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    short_page: bool = False  # fault: list pages hold one item fewer (see page_slice)
    not_offered: int | None = None  # fault: answer this status, as for an unknown endpoint

    @classmethod
    def from_environ(cls, environ, path: str) -> Request:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=unquote(path),
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated or comma-separated parameter."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]

    def int_arg(self, name: str, default: int) -> int:
        """An integer parameter; ValueError when it is not one (handlers answer 400)."""
        value = self.arg(name)
        return default if value in (None, "") else int(value)

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return loads(self.body)
        except ValueError as exc:
            raise BadJSON(str(exc)) from exc


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able (Decimal allowed); None: empty body
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        return b"" if self.body is None else dumps(self.body).encode()


def page_slice(
    records: Sequence, offset: int = 0, limit: int | None = None, short_page: bool = False
) -> list:
    """The page `records[offset:offset + limit]` (to the end when `limit` is None).

    Under the `short-page` fault the page holds one item fewer than it claims: its last is
    left out, but only when it has more than one. A one-item last page emptied would hide
    its number from every client, however carefully it pages. A handler whose page comes
    already cut (by `SandboxState.owned_page`) passes it alone, with the fault."""
    page = list(records[offset:] if limit is None else records[offset : offset + limit])
    return page[:-1] if short_page and len(page) > 1 else page


Handler = Callable[..., Response]


class Router:
    """Regex routes: `router.add("GET", r"/v2/numbers/(?P<number_id>[^/]+)", handler)`;
    the named groups become keyword arguments of the handler."""

    def __init__(self):
        self.routes: list[tuple[str, re.Pattern, Handler]] = []

    def add(self, methods: str | Iterable[str], pattern: str, handler: Handler):
        methods = [methods] if isinstance(methods, str) else list(methods)
        compiled = re.compile(f"^{pattern}/?$")
        for method in methods:
            self.routes.append((method.upper(), compiled, handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | bool | None:
        """(handler, kwargs); False when the path exists for other methods; None when not."""
        path_known = False
        for route_method, pattern, handler in self.routes:
            found = pattern.match(path)
            if found:
                if route_method == method:
                    return handler, found.groupdict()
                path_known = True
        return False if path_known else None
