"""Serving the sandbox over real HTTP: `manage.py sandbox`, and a thread for tests."""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from portal.providers.sandbox.http import DropConnection

logger = logging.getLogger("portal.providers.sandbox")


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(WSGIRequestHandler):
    def log_message(self, format, *args):
        logger.debug("sandbox %s %s", self.address_string(), format % args)


def make_sandbox_server(app, host: str = "127.0.0.1", port: int = 0):
    """A threaded WSGI server for `app`; port 0 picks a free port."""
    return make_server(
        host, port, _unanswered_on_drop(app), server_class=_ThreadingServer, handler_class=_Handler
    )


def _unanswered_on_drop(app):
    """wsgiref answers 500 to any exception from the application, except a broken
    connection, which it leaves unanswered. A DropConnection (the request was applied) is
    turned into one, so the client sees the connection close without a response, as after
    an upstream timeout, and not a 500."""

    def application(environ, start_response):
        try:
            return app(environ, start_response)
        except DropConnection as exc:
            raise ConnectionAbortedError(str(exc)) from exc

    return application


class SandboxThread:
    """The sandbox on a loopback port in a background thread, for contract tests:

    with SandboxThread(app) as url: adapter = Adapter(config(base_url=f"{url}/vobiz/api/v1"))
    """

    def __init__(self, app, host: str = "127.0.0.1"):
        self.server = make_sandbox_server(app, host)
        self.url = f"http://{host}:{self.server.server_port}"
        # serve_forever polls for shutdown every 0.5 s by default: each test would wait that
        # long in teardown.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
