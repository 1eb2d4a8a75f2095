"""Login throttling (django-axes): the address failures count against, and the page a
locked-out sign-in gets."""

from django.conf import settings
from django.shortcuts import render


def client_ip_address(request) -> str:
    """The address the request came from.

    Behind TRUSTED_PROXY_COUNT proxies, each of which appends the address it received the
    request from to X-Forwarded-For, that is the entry the outermost proxy appended. Entries
    further left came from the client itself and could be anything, so they are never used;
    without proxies, or with a shorter header than there are proxies, REMOTE_ADDR is."""
    proxies = settings.TRUSTED_PROXY_COUNT
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [part.strip() for part in header.split(",") if part.strip()]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(request, original_response, credentials):
    """The sign-in page saying the sign-in is locked and for how long, instead of axes' bare
    text. 429 Too Many Requests, as axes answers by default."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return render(
        request,
        "registration/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "lockout_minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
