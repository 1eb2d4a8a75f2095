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
