"""A real HTTP server on loopback that receives webhooks: it records every request as it
arrived (headers and raw body) and answers from a script, so a test can have it fail a few
times, echo what it got, or accept.

    with WebhookReceiver() as receiver:
        receiver.answer(503, 503, 503)          # then 200 "ok", as by default
        endpoint = WebhookEndpointFactory(url=receiver.url)
        ...
        receiver.requests[0].body

Its `verify` checks a request's signature the way README "Alerts: webhooks" tells a
receiver to, written here on its own (not the portal's code), so a test of the signature
tests the portal against the documented recipe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# An answer that sends the request back: its signature first (within what a log excerpt
# keeps), then every header and the body.
ECHO = "echo"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    delay: float = 0.0  # seconds before it answers
    reason: str | None = None  # the reason phrase, if not the usual one


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    answered: int  # the status the receiver gave it

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class WebhookReceiver:
    """An HTTP server in a thread on 127.0.0.1 (a free port), recording each request."""

    def __init__(self, path: str = "/hooks/portal"):
        self.path = path
        self.requests: list[Received] = []
        self._script: deque = deque()
        self._default = Answer(200, b"ok")
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def answer(self, *answers: int | str | Answer) -> None:
        """The next requests' answers, in order: a status (with a short body), ECHO, or an
        Answer; after them, 200 "ok"."""
        with self._lock:
            for answer in answers:
                if isinstance(answer, int):
                    answer = Answer(answer, f"status {answer} from the test receiver".encode())
                self._script.append(answer)

    def accepted(self) -> list[Received]:
        """The requests it answered with a 2xx."""
        return [request for request in self.requests if 200 <= request.answered < 300]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_answer(self, headers: dict[str, str], body: bytes) -> Answer:
        with self._lock:
            answer = self._script.popleft() if self._script else self._default
        if answer == ECHO:
            echoed = {
                "signature": headers.get("x-portal-signature"),
                "headers": headers,
                "body": body.decode("utf-8", errors="replace"),
            }
            return Answer(200, json.dumps(echoed).encode())
        return answer

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                answer = receiver._next_answer(headers, body)
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.command, self.path, headers, body, answer.status)
                    )
                time.sleep(answer.delay)
                self.send_response(answer.status, answer.reason)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format, *args):  # the test's output stays quiet
                pass

        return Handler


# --- verifying a signature, as README "Alerts: webhooks" tells a receiver ------------------

TOLERANCE_SECONDS = 300


def verify(request: Received, secret: str, *, now: float | None = None) -> bool:
    """Whether the request's X-Portal-Signature is valid for `secret`: the HMAC-SHA256 of
    "{t}.{raw body}", compared in constant time, with `t` no older than five minutes."""
    header = request.header("X-Portal-Signature") or ""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
