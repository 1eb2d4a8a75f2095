"""Alerts by e-mail, through Django's mail framework (settings.EMAIL_URL; the console in
development when it is unset). A server that does not take the message raises SendFailed
with its reply code, which the delivery log keeps; never the server's password."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from alerts.channels.base import SendFailed, Sent
from alerts.messages import Message, alert_message
from alerts.models import Delivery


def send(delivery: Delivery) -> Sent:
    if not delivery.address:
        raise SendFailed("The recipient has no e-mail address.")
    return deliver(alert_message(delivery), delivery.address)


def deliver(message: Message, address: str) -> Sent:
    """Send one plain-text e-mail to `address`; raises SendFailed when it was not taken."""
    email = EmailMessage(message.subject, message.body, to=[address])
    try:
        taken = email.send(fail_silently=False)
    except smtplib.SMTPResponseException as exc:
        reply = _reply_text(exc.smtp_error)
        raise SendFailed(
            f"The mail server refused the message: {exc.smtp_code} {reply}".strip(),
            status_code=exc.smtp_code,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (None, b""))
        raise SendFailed(
            f"The mail server refused the address {address}: {code} {_reply_text(reply)}",
            status_code=code,
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(
            f"Could not reach the mail server {settings.EMAIL_HOST}:{settings.EMAIL_PORT} "
            f"({type(exc).__name__})"
        ) from None
    if not taken:
        raise SendFailed("The mail backend did not take the message.")
    return Sent(status_code=None, excerpt=f"Accepted by the mail server for {address}")


def _reply_text(reply) -> str:
    """The server's reply, without the password should a server echo it back."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    password = settings.EMAIL_HOST_PASSWORD
    return text.replace(password, "…") if password else text
