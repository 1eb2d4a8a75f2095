"""The page for an unhandled error (settings: urls.handler500).

Rendered without the request's context processors and without touching the database: the
database may be the very thing that failed. A database that cannot be reached (down,
restarting, a connection cut) gets an answer of its own, 503 with a Retry-After, because
for the user it is a wait, not a bug.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

DATABASE_RETRY_AFTER = "30"  # seconds: how long a restarting database usually takes


@requires_csrf_token
def server_error(request):
    # Django calls this inside its handler of the exception, so exc_info still holds it.
    error = sys.exc_info()[1]
    if database_unreachable(error):
        # A GET can simply be tried again; after a POST, the way on is the dashboard.
        retry = request.method == "GET"
        path = request.get_full_path() if retry else "/"
        if not url_has_allowed_host_and_scheme(path, allowed_hosts=None):
            path, retry = "/", False  # "//elsewhere.example" would lead off the portal
        context = {"request_path": path, "retry": retry}
        html = loader.render_to_string("503_database.html", context)
        response = HttpResponse(html, status=503)
        response["Retry-After"] = DATABASE_RETRY_AFTER
        return response
    return HttpResponse(loader.render_to_string("500.html"), status=500)


# PostgreSQL's classes for "the connection is gone": 08 (connection exceptions) and the
# server shutting down or restarting (57P01-57P03).
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
# What SQLite says when its file cannot be reached.
_UNREACHABLE_SQLITE = ("unable to open database file", "disk i/o error")


def database_unreachable(error: BaseException | None) -> bool:
    """Whether `error` says the database cannot be reached, as opposed to one that answered
    with an error (a missing table, a deadlock, a timeout): those are bugs or load, and get
    the 500 page and the log like any other."""
    if isinstance(error, InterfaceError):
        return True  # a connection already closed
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", "missing")
    if sqlstate is None:
        return True  # psycopg: no answer at all (could not connect, connection lost)
    if sqlstate != "missing":
        return sqlstate.startswith(_UNREACHABLE_SQLSTATES)
    return str(error).lower().startswith(_UNREACHABLE_SQLITE)
