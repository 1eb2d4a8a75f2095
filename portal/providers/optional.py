"""Endpoints a provider may not offer to every account, and how an adapter reads them.

An adapter's capabilities say what the provider has; some of its endpoints still answer 404,
405 or 501 for an account that lacks them (Audian's plan documents are a Kazoo endpoint it
does not publish; TryVox's balance is [INFERRED]). That answer says the account does not
offer the endpoint, which is not a failure (DESIGN, "Data rules"): the caller keeps what it
read and records the endpoint as not offered. Where the call is made inside an adapter
method, the method takes `endpoints` and reads through it, so the caller decides.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from portal.providers.errors import UpstreamError

# No such path, not that method, not implemented: the endpoint is not there for this account.
NOT_OFFERED_STATUSES = frozenset({404, 405, 501})

T = TypeVar("T")


class Endpoint(enum.StrEnum):
    """The optional endpoints, named as an account's record of them stores them."""

    BALANCE = "balance"
    SERVICE_PLANS = "service_plans"
    SERVICE_PLAN_DETAILS = "service_plan_details"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Endpoint.BALANCE: "Balance",
    Endpoint.SERVICE_PLANS: "Service plans",
    # A plan's own document: what it adds to the list is the plan's number rates.
    Endpoint.SERVICE_PLAN_DETAILS: "Service plan rates",
}


def is_not_offered(error: UpstreamError) -> bool:
    """Whether the error is the upstream saying the endpoint is not there."""
    return error.status in NOT_OFFERED_STATUSES


class OptionalEndpoints:
    """How optional endpoints are read. This one calls every time and lets a missing one
    raise like any failure; the sync passes one that remembers, per account, which are not
    offered (portal.services.endpoints.AccountEndpoints)."""

    def read(self, endpoint: Endpoint, call: Callable[[], T], *, default: T) -> T:
        """What `call` returns, or `default` where the account does not offer `endpoint`."""
        return call()


CALL_EVERY_TIME = OptionalEndpoints()
