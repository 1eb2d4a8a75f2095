"""What every simulated provider API shares. Each provider folder's `simulator.py` defines
one `SandboxProvider` subclass that serves that provider's documented paths, headers,
envelopes, pagination and error bodies on top of the shared `SandboxState`;
`load_simulators` imports them all, so a new provider folder is found by itself."""

from __future__ import annotations

import importlib
import pkgutil
from typing import ClassVar

from portal.providers.sandbox.http import BadJSON, Request, Response, Router
from portal.providers.sandbox.state import CatalogEntry, SandboxError, SandboxState

PROVIDERS: dict[str, type[SandboxProvider]] = {}
# The router's codes for an endpoint that is not there (see `faults.NOT_OFFERED_STATUSES`).
NOT_OFFERED_CODES = {404: "not_found", 405: "method_not_allowed", 501: "not_implemented"}


class Reject(Exception):
    """Raised by a handler (or `authenticate`) to answer with `response` at once."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


class SandboxProvider:
    slug: ClassVar[str]
    # Where the provider's API lives below the provider's prefix (`/{slug}`): a client's
    # base URL is `{origin}/{slug}{api_path}` (see `portal.providers.sandbox.base_url`).
    api_path: ClassVar[str]
    catalog: ClassVar[tuple[CatalogEntry, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "slug" in cls.__dict__:
            if not getattr(cls, "api_path", "").startswith("/"):
                raise TypeError(f"{cls.__name__} must declare its api_path, such as '/v1'")
            PROVIDERS[cls.slug] = cls

    def __init__(self, state: SandboxState):
        self.state = state
        self.router = Router()
        self.add_routes(self.router)

    def handle(self, request: Request) -> Response:
        if request.not_offered:
            code = NOT_OFFERED_CODES[request.not_offered]
            return self.error_response(request.not_offered, code, f"{request.path} not offered")
        match = self.router.match(request.method, request.path)
        if match is None:
            return self.error_response(404, "not_found", f"no route for {request.path}")
        if match is False:
            return self.error_response(405, "method_not_allowed", f"{request.method} not allowed")
        handler, kwargs = match
        try:
            return handler(request, **kwargs)
        except Reject as reject:
            return reject.response
        except BadJSON as exc:
            return self.error_response(400, "invalid_json", f"body is not JSON: {exc}")
        except ValueError as exc:  # a malformed query parameter
            return self.error_response(400, "invalid_request", str(exc))
        except SandboxError as exc:
            return self.sandbox_error(exc)

    # --- each provider implements these ---------------------------------------------------

    def add_routes(self, router: Router) -> None:
        """Register the provider's documented endpoints."""

    def error_response(self, status: int, code: str, message: str, **extra) -> Response:
        """The provider's documented error body for `status`."""
        return Response(status, {"error": {"code": code, "message": message, **extra}})

    def sandbox_error(self, error: SandboxError) -> Response:
        """The provider's documented answer to a business refusal (taken, no credit, …)."""
        return self.error_response(400, error.kind, error.message)

    def fault_response(self, status: int) -> Response:
        """An injected fault in the provider's shape; 429 carries Retry-After."""
        response = self.error_response(status, f"http_{status}", "injected sandbox fault")
        if status == 429:
            response.headers["Retry-After"] = "1"
        return response


def load_simulators() -> dict[str, type[SandboxProvider]]:
    """Every provider folder's simulator (portal/providers/<slug>/simulator.py), registered."""
    import portal.providers

    for module in pkgutil.iter_modules(portal.providers.__path__):
        if module.ispkg and module.name != portal.providers.SIMULATOR_SHELL:
            importlib.import_module(f"portal.providers.{module.name}.simulator")
    return PROVIDERS
