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
    if isinstance(error, OperationalError | InterfaceError):
        # A GET can simply be tried again; after a POST, "again" means the form's page.
        path = request.get_full_path() if request.method == "GET" else "/"
        if not url_has_allowed_host_and_scheme(path, allowed_hosts=None):
            path = "/"  # "//elsewhere.example" would lead off the portal
        html = loader.render_to_string("503_database.html", {"request_path": path})
        response = HttpResponse(html, status=503)
        response["Retry-After"] = DATABASE_RETRY_AFTER
        return response
    return HttpResponse(loader.render_to_string("500.html"), status=500)
