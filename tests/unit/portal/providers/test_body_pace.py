"""A list streamed for longer than one request keeps a pace (portal.providers.bodies.Pace):
a body that keeps coming may take as long as the run allows, a trickle ends after one
window. Real HTTP on loopback: a server sends `piece` bytes every `every` seconds."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from portal.providers import bodies
from portal.providers.deadlines import Deadline
from portal.providers.errors import DeadlineExceeded


class Steady(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    piece = 1
    every = 0.1
    pieces = 10

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(self.piece * self.pieces))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for _ in range(self.pieces):
                time.sleep(self.every)
                self.wfile.write(b" " * self.piece)
                self.wfile.flush()
        except OSError:
            pass


@pytest.fixture
def serve():
    servers = []

    def start(piece: int, every: float, pieces: int) -> str:
        handler = type("Handler", (Steady,), {"piece": piece, "every": every, "pieces": pieces})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def read_paced(url: str, pace: bodies.Pace, deadline: float = 30.0) -> tuple[int, float]:
    started = time.monotonic()
    with httpx.Client() as client, client.stream("GET", url) as response:
        size = sum(
            len(piece)
            for piece in bodies.chunks(
                response,
                limit=1 << 30,
                deadline=Deadline.after(deadline),
                provider="Ravan",
                pace=pace,
            )
        )
    return size, time.monotonic() - started


def test_a_body_that_keeps_its_pace_may_take_longer_than_one_window(serve):
    # 64 KB every 0.2 s for 2 s, judged over windows of 0.5 s.
    url = serve(piece=64 * 1024, every=0.2, pieces=10)
    size, elapsed = read_paced(url, bodies.Pace(seconds=0.5))
    assert size == 640 * 1024
    assert elapsed > 1.5


def test_a_trickle_ends_when_a_window_passes_without_its_bytes(serve):
    # 1 KB every 0.1 s: 5 KB a window of 0.5 s, well below 64 KB.
    url = serve(piece=1024, every=0.1, pieces=100)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        read_paced(url, bodies.Pace(seconds=0.5))
    assert time.monotonic() - started < 2.0
    assert str(caught.value).endswith(
        "took longer than 0.5 seconds to send the next 64 KB of its list "
        "(UPSTREAM_REQUEST_DEADLINE)"
    ), str(caught.value)


def test_the_overall_deadline_still_ends_a_body_that_keeps_its_pace(serve):
    url = serve(piece=64 * 1024, every=0.1, pieces=100)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        read_paced(url, bodies.Pace(seconds=0.5), deadline=1.0)
    assert time.monotonic() - started < 2.5
    assert "to send the next" not in str(caught.value)
