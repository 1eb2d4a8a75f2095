"""An upstream answering canned text in process (httpx.MockTransport): the published
examples' tests hand an adapter exactly what a provider's documents print."""

import httpx


class CannedUpstream:
    """A MockTransport's handler: keeps every request it sees and answers what `answer`
    gives for it, (status, text), an empty body where text is None. `adapter()` is an
    `adapter_class` for `config` that reaches only this upstream."""

    adapter_class = None
    config = None
    headers: dict = {}  # on every answer

    def __init__(self):
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, text = self.answer(request)
        return httpx.Response(status, content=(text or "").encode(), headers=self.headers)

    def answer(self, request: httpx.Request) -> tuple[int, str | None]:
        raise NotImplementedError

    def adapter(self):
        return self.adapter_class(self.config, transport=httpx.MockTransport(self))


class CannedServer:
    """Canned answers over real HTTP on a loopback port, for an adapter reading exactly what
    a provider publishes (or a malformed or endless listing): `answer(method, path, query)`
    gives (status, text) for each request, `query` a dict of one value per name. Used as a
    context manager that gives the server's origin (`http://127.0.0.1:<port>`)."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def __enter__(self) -> str:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qsl, unquote, urlsplit

        canned = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                path = unquote(url.path)
                canned.requests.append(("GET", path, query))
                status, text = canned.answer("GET", path, query)
                body = (text or "").encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
