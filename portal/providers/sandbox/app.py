"""One WSGI application serving all four provider APIs.

A request is routed to a provider by its first path segment (`/audian/v2/...`) or, for a
client that needs the provider's own paths at the root, by the first label of the Host
header (`audian.sandbox.local`). Faults are applied here, around the provider's handler.
"""

from __future__ import annotations

import time
from http import HTTPStatus

from portal.providers.sandbox.faults import FaultConfig, FaultPlan
from portal.providers.sandbox.http import DropConnection, Request, Response
from portal.providers.sandbox.simulated import PROVIDERS, SandboxProvider
from portal.providers.sandbox.state import SandboxState


class SandboxApp:
    def __init__(self, state: SandboxState, faults: FaultConfig | None = None):
        self.state = state
        self.faults = faults or FaultConfig()
        self.providers: dict[str, SandboxProvider] = {
            slug: provider_class(state) for slug, provider_class in PROVIDERS.items()
        }

    def __call__(self, environ, start_response):
        response = self.respond(environ)
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        body = response.content()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers += list(response.headers.items())
        start_response(status, headers)
        return [body]

    def respond(self, environ) -> Response:
        provider, path = self._route(environ)
        if provider is None:
            return Response(
                404, {"error": "unknown sandbox provider", "providers": list(self.providers)}
            )
        request = Request.from_environ(environ, path)
        try:
            plan = self.faults.plan(request.headers)
            request.not_offered = self.faults.not_offered_status(f"/{provider.slug}{request.path}")
        except ValueError as exc:
            return Response(400, {"error": str(exc)})
        if plan.delay:
            time.sleep(plan.delay)  # simulated network and upstream latency
        if plan.status is not None:
            response = provider.fault_response(plan.status)
            if "Retry-After" in response.headers:
                response.headers["Retry-After"] = self.faults.retry_after
            return response
        request.short_page = plan.short_page
        response = provider.handle(request)
        return self._after(plan, response)

    @staticmethod
    def _after(plan: FaultPlan, response: Response) -> Response:
        if plan.delay_after_apply:
            time.sleep(plan.delay_after_apply)
        if plan.drop_after_apply:
            raise DropConnection()
        if plan.malformed:
            content = response.content()
            return _RawResponse(
                response.status, content[: max(1, len(content) // 2)], response.headers
            )
        return response

    def _route(self, environ) -> tuple[SandboxProvider | None, str]:
        path = environ.get("PATH_INFO", "/")
        first, _, rest = path.lstrip("/").partition("/")
        if first in self.providers:
            return self.providers[first], "/" + rest
        host = environ.get("HTTP_HOST", "").split(":")[0].split(".")[0]
        if host in self.providers:
            return self.providers[host], path
        return None, path


class _RawResponse(Response):
    """A response whose body is already bytes (used to send malformed JSON)."""

    def __init__(self, status, raw: bytes, headers):
        super().__init__(status, None, dict(headers))
        self.raw = raw

    def content(self) -> bytes:
        return self.raw
