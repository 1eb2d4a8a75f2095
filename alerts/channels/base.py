"""What a channel's `send(delivery)` gives back, or raises: the facts of one attempt, which
the delivery log keeps (so they never hold a secret)."""

from dataclasses import dataclass

EXCERPT_CHARS = 300


def excerpt(text: str) -> str:
    """The start of a response or error, on one line, short enough for the log."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


@dataclass
class Sent:
    status_code: int | None = None
    excerpt: str = ""


class SendFailed(Exception):
    """The channel did not take the message; worth another try later, unless `final` (the
    channel is gone or switched off: no later try can succeed)."""

    def __init__(self, message: str, *, status_code: int | None = None, final: bool = False):
        super().__init__(message)
        self.status_code = status_code
        self.final = final
