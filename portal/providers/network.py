"""Where the portal may connect for a provider account, and how long a socket may wait.
(The alerts' webhooks are held to the same rule, with the same setting.)

A provider account's base URL is typed by an admin, and a name can resolve differently
tomorrow: a base URL must not become a way to reach the portal's own network (a database,
a metadata service). Unless `ALLOW_PRIVATE_UPSTREAMS` is on (development, where the sandbox
listens on loopback, and the tests), an upstream

- is reached over https only, and
- only at public addresses: never loopback, private, link-local, shared, reserved,
  multicast or unspecified ones.

The rule is checked when an account is saved (`base_url_problem`, from the model's
`clean`) and again at every connection (`GuardedTransport`): the name is resolved, each
address checked, and the connection made to the checked address itself, so a name that
resolves elsewhere the second time gains nothing. The URL's host still names the request
(Host header, TLS server name and certificate check). Redirects are never followed (the
adapters' client keeps httpx's default), so a 302 cannot lead inside either.

Every socket operation here also ends at this thread's deadline (portal.providers.deadlines).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from portal.providers.deadlines import capped
from portal.providers.errors import AddressNotAllowed

NEED_SETTING = "set ALLOW_PRIVATE_UPSTREAMS to allow it"


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order (tests replace this)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in found))


def addresses_of(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return resolve(host, port)


def is_public(address: str) -> bool:
    """Whether an upstream at `address` is outside the portal's network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone is not part of it
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def private_allowed() -> bool:
    return settings.ALLOW_PRIVATE_UPSTREAMS


def base_url_problem(url: str, *, called: str = "upstreams") -> str:
    """Why the portal may not call `url`, in words for the form it was typed in; "" if it
    may. `called` names what the URL is in those words (the alerts' webhooks follow the
    same rule)."""
    if private_allowed():
        return ""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return (
            f"{called.capitalize()} are reached over https only, not {parts.scheme} "
            f"({NEED_SETTING})."
        )
    host = parts.hostname or ""
    try:
        addresses = addresses_of(host, parts.port or 443)
    except OSError:
        return f"{host} does not resolve to any address."
    inside = [address for address in addresses if not is_public(address)]
    if inside:
        return (
            f"{host} leads to {inside[0]}, an address inside the network (loopback, private, "
            f"link-local or reserved); the portal does not call such {called} ({NEED_SETTING})."
        )
    return ""


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, connecting only where `base_url_problem`'s rule allows. `target`
    names the URL in its refusals (an account's base URL, a webhook's URL)."""

    def __init__(self, *, target: str = "the account's base URL"):
        super().__init__()
        self.target = target
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedBackend(target),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https" and not private_allowed():
            raise AddressNotAllowed(
                f"{self.target} uses plain {request.url.scheme}; the portal calls out over "
                f"https only ({NEED_SETTING})"
            )
        return super().handle_request(request)


class _CheckedBackend(httpcore.NetworkBackend):
    """Resolves the host, keeps the addresses the rule allows and connects to one of
    them; TLS (started later by the connection) still names the host."""

    def __init__(self, target: str):
        self.backend = httpcore.SyncBackend()
        self.target = target

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = addresses_of(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve ({exc})") from exc
        allowed = addresses if private_allowed() else [a for a in addresses if is_public(a)]
        if not allowed:
            raise AddressNotAllowed(
                f"{self.target} leads to {addresses[0]}, an address inside the "
                f"network; no connection was made ({NEED_SETTING})"
            )
        failure: Exception | None = None
        for address in allowed:
            try:
                stream = self.backend.connect_tcp(
                    address,
                    port,
                    _capped(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        raise failure

    def sleep(self, seconds: float) -> None:
        self.backend.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends at this thread's deadline."""

    def __init__(self, stream: httpcore.NetworkStream):
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, _capped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, _capped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _DeadlineStream(
            self.stream.start_tls(
                ssl_context, server_hostname, _capped(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str):
        return self.stream.get_extra_info(info)


def _capped(timeout: float | None, timed_out: type[Exception]) -> float | None:
    try:
        return capped(timeout)
    except TimeoutError as exc:
        raise timed_out(str(exc)) from exc
