"""The one error hierarchy for every provider. An adapter's `error_table` maps each
documented HTTP status and upstream error code onto these; `message` is safe to show to staff
and never holds a credential."""

from __future__ import annotations

from portal.providers.capabilities import Capability


class UpstreamError(Exception):
    """Base of every failure talking to a provider. `message` is safe to show to staff."""

    retryable = False

    def __init__(self, message: str, *, provider: str = "", status: int | None = None, code=""):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.code = str(code or "")

    def __str__(self):
        # A message that names its provider already ("Audian answered 404 …") is not
        # prefixed with the name again.
        named = not self.provider or self.message.startswith(self.provider)
        return self.message if named else f"{self.provider}: {self.message}"


class NotSupported(UpstreamError):
    def __init__(self, provider: str, capability: Capability):
        super().__init__(f"{capability.label} is not supported by {provider}", provider=provider)
        self.capability = capability


class NumberUnavailable(UpstreamError):
    """The number is taken, gone from inventory, or not held by this account."""


class InsufficientFunds(UpstreamError):
    pass


class RegionNotAllowed(UpstreamError):
    pass


class InvalidNumber(UpstreamError):
    pass


class PriceChanged(UpstreamError):
    """The quoted price no longer matches (Ravan, TryVox): nothing was bought."""


class NotFound(UpstreamError):
    pass


class InvalidRequest(UpstreamError):
    pass


class AuthenticationFailed(UpstreamError):
    pass


class RateLimited(UpstreamError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UpstreamUnavailable(UpstreamError):
    """5xx, or the connection failed before the request was sent: safe to retry."""

    retryable = True


class ConnectionRefused(UpstreamUnavailable):
    """Nothing listens at the provider's address. Not retried: a refusal comes back at
    once, and backing off between refusals would only keep the person waiting for the
    same answer (a search would wait out its whole timeout)."""

    retryable = False


class AmbiguousResult(UpstreamError):
    """A write may or may not have reached the upstream (timeout or dropped connection
    after sending). Never retried blindly: reconcile by reading the upstream."""


class UnexpectedResponse(UpstreamError):
    """The upstream answered with a shape or type the adapter does not accept."""

    def __init__(self, message: str, *, excerpt: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.excerpt = excerpt


class EndlessListing(UnexpectedResponse):
    """A listing that would not end: a page (or cursor) seen before, or more rows than the
    largest real account holds (portal.providers.paging). Nothing read is taken as the
    whole list, so a sync releases nothing."""


class ResponseTooLarge(UnexpectedResponse):
    """An answer larger than its limit, counted after decompression
    (portal.providers.bodies): refused before the memory is spent."""


class DeadlineExceeded(UpstreamError):
    """A request (its retries included) or a whole sync ran past its deadline. Not
    retried: the time it had is what it was given."""


class RunDeadlineExceeded(DeadlineExceeded):
    """The sync's own deadline passed: the run stops, keeping what finished steps wrote."""


class AddressNotAllowed(UpstreamError):
    """The account's base URL leads inside the network (or is not https) where the
    settings forbid it (portal.providers.network): no connection was made."""
