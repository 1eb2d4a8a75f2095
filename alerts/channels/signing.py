"""The signature on every webhook request, in the scheme Stripe and Slack use: an HMAC-SHA256,
keyed with the endpoint's secret, of the request's Unix time, a dot and the exact body bytes.

    X-Portal-Signature: t=<Unix time>,v1=<64 hex digits>

The time is inside what is signed, so a receiver that refuses old timestamps (README,
"Alerts: webhooks") cannot be fed a captured request again later; the body is signed as sent,
byte for byte, so the receiver checks the raw body before it parses it.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Portal-Signature"
SCHEME = "v1"


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `{timestamp}.{body}` under `secret`."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of the X-Portal-Signature header."""
    return f"t={timestamp},{SCHEME}={signature(secret=secret, timestamp=timestamp, body=body)}"
