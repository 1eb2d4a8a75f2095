"""What an account does not offer: the sync's record of its optional endpoints
(portal.providers.optional) that answered 404, 405 or 501, kept on the account
(`ProviderAccount.endpoints_not_offered`) and shown where the figure would be."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from portal.models import ProviderAccount
from portal.providers.errors import UpstreamError
from portal.providers.optional import Endpoint, OptionalEndpoints, is_not_offered

logger = logging.getLogger("portal.services.sync")

# An endpoint not offered is not asked again sooner: an account's offer rarely changes, and
# each ask costs a round trip (and, for a 501, the retries of a 5xx).
RECHECK_AFTER = timedelta(days=1)

T = TypeVar("T")


class AccountEndpoints(OptionalEndpoints):
    """The optional endpoints of `account`, read by a sync running at `now`.

    One recorded as not offered within RECHECK_AFTER is not asked: the caller gets its
    default. One that answers 404/405/501 is recorded so, with the time, and gives the
    default. One that answers clears its record. Any other failure raises, as it would
    without this."""

    def __init__(self, account: ProviderAccount, *, now: datetime):
        self.account = account
        self.now = now

    def read(self, endpoint: Endpoint, call: Callable[[], T], *, default: T) -> T:
        checked = self.account.not_offered.get(endpoint)
        if checked is not None and self.now - checked < RECHECK_AFTER:
            return default
        try:
            result = call()
        except UpstreamError as error:
            if not is_not_offered(error):
                raise
            logger.info("%s of account %s is not offered: %s", endpoint, self.account.pk, error)
            self._write(endpoint, self.now)
            return default
        if checked is not None:
            self._write(endpoint, None)
        return result

    def offered(self, endpoint: Endpoint) -> bool:
        """False while the account's record says `endpoint` is not offered."""
        return endpoint not in self.account.endpoints_not_offered

    def _write(self, endpoint: Endpoint, checked: datetime | None):
        records = dict(self.account.endpoints_not_offered)
        if checked is None:
            records.pop(endpoint, None)
        else:
            records[endpoint] = checked.isoformat()
        # This field only: the account's other fields may have been edited since it was read.
        ProviderAccount.objects.filter(pk=self.account.pk).update(endpoints_not_offered=records)
        self.account.endpoints_not_offered = records
