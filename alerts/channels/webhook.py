"""The webhook channel: one signed HTTPS POST of an alert to one endpoint.

The URL is held to the rule provider accounts' base URLs follow (portal.providers.network):
checked before sending, and again when the connection is made, to the address actually
connected to. Timeouts are short (a receiver that hangs holds a task worker) and redirects
are never followed. Anything else than a 2xx answer raises SendFailed; alerts.services
.delivery logs the attempt and tries again later.

What comes back (a response's start, an error) goes into the delivery log: the endpoint's
secret and the request's signature are cut out of it first, even when a receiver echoes
the request back.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import httpx

from alerts.channels.base import EXCERPT_CHARS, SendFailed, Sent
from alerts.channels.signing import SIGNATURE_HEADER, signature_header
from alerts.channels.webhook_body import body_bytes, event_of
from alerts.models import Delivery
from portal.providers.deadlines import Deadline, duration_words, reads_until
from portal.providers.errors import AddressNotAllowed
from portal.providers.network import GuardedTransport, base_url_problem

logger = logging.getLogger("alerts.webhook")

EVENT_HEADER = "X-Portal-Event"
DELIVERY_HEADER = "X-Portal-Delivery"
USER_AGENT = "NumberPortal-Webhooks/1"

# Per socket operation, and for the whole request (a body trickling in byte by byte).
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEADLINE_SECONDS = 15.0
# Read of an answer: enough for its excerpt, never a large body.
RESPONSE_BYTES = 4096
REDACTED = "[redacted]"
# A secret cut short where the read stopped: the end of the text matching the secret's
# first this-many characters or more counts as it.
PARTIAL_SECRET_CHARS = 4


def send(delivery: Delivery) -> Sent:
    endpoint = delivery.webhook
    if endpoint is None:
        raise SendFailed("The webhook channel was deleted: not sent.", final=True)
    if not endpoint.is_active:
        raise SendFailed(f"The channel {endpoint.name} is disabled: not sent.", final=True)
    problem = base_url_problem(endpoint.url, called="webhooks")
    if problem:
        raise SendFailed(f"Not sent: {problem}")

    body = body_bytes(delivery, endpoint.format)
    signed = signature_header(secret=endpoint.secret, timestamp=int(time.time()), body=body)
    event = event_of(delivery)
    headers = {
        "Content-Type": "application/json",
        # The answer's start is read as it comes: never a compressed body to unpack.
        "Accept-Encoding": "identity",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery.pk),
        SIGNATURE_HEADER: signed,
    }
    hidden = [endpoint.secret, signed, signed.rpartition("=")[2]]
    host = urlsplit(endpoint.url).hostname or "the receiver"
    started = time.monotonic()
    try:
        status, reason, answer = _post(endpoint.url, body, headers)
    except AddressNotAllowed as exc:
        raise SendFailed(f"Not sent: {exc.message}.") from None
    except httpx.TimeoutException:
        waited = duration_words(DEADLINE_SECONDS)
        raise SendFailed(f"{host} did not answer within {waited}.") from None
    except httpx.HTTPError as exc:
        cause = _without(str(exc) or type(exc).__name__, hidden, cut=False)
        raise SendFailed(f"Could not reach {host}: {cause}") from None
    took = round((time.monotonic() - started) * 1000)
    text = _without(answer.decode("utf-8", errors="replace"), hidden, cut=True)
    reason = _without(reason, hidden, cut=False)  # a receiver chooses its reason phrase too
    logger.info(
        "webhook %s: delivery %s (%s) answered %s in %d ms",
        endpoint.name,
        delivery.pk,
        event,
        status,
        took,
    )
    if not 200 <= status < 300:
        raise SendFailed(f"{status} {reason}: {text}".strip(), status_code=status)
    return Sent(status_code=status, excerpt=text)


def _post(url: str, body: bytes, headers: dict) -> tuple[int, str, bytes]:
    """POST once; the status, its reason and the start of the answer."""
    transport = GuardedTransport(target="the webhook's URL")
    with (
        reads_until(Deadline.after(DEADLINE_SECONDS)),
        httpx.Client(transport=transport, timeout=TIMEOUT) as client,
        client.stream("POST", url, content=body, headers=headers) as response,
    ):
        answer = b""
        for chunk in response.iter_raw():
            answer += chunk
            if len(answer) >= RESPONSE_BYTES:
                break
        return response.status_code, response.reason_phrase, answer[:RESPONSE_BYTES]


def _without(text: str, hidden: list[str], *, cut: bool) -> str:
    """`text` on one line, each of `hidden` replaced; with `cut` (a read that may have
    stopped inside one), a start of one at the very end too. Short enough for the log."""
    flat = " ".join(text.split())
    for value in hidden:
        if value:
            flat = flat.replace(value, REDACTED)
    if cut:
        for value in hidden:
            for length in range(len(value) - 1, PARTIAL_SECRET_CHARS - 1, -1):
                if flat.endswith(value[:length]):
                    flat = flat[:-length] + REDACTED
                    break
    return flat[: EXCERPT_CHARS * 2]
