"""Refusing control characters in a URL before any view turns them into a query.

PostgreSQL refuses text holding a NUL byte: a filter such as the admin's
`?status__exact=%00` reached the database and answered 500. Forms already refuse NUL
(Django's CharField), but list filters, the admin's changelist and URL parts do not all go
through one. No page of the portal has a use for a control character in its URL, so a
request whose path or query string (names or values, once decoded) holds one is answered
400 here, for every page and the admin alike.

Tab, line feed and carriage return are let through: text pasted into a search box may
carry them (from a spreadsheet), they are harmless to the database, and the filters strip
or refuse them with a message of their own.
"""

from __future__ import annotations

import re

from django.core.exceptions import BadRequest

# C0 controls but tab, line feed and carriage return; and DEL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def holds_control_characters(request) -> bool:
    if CONTROL_CHARACTERS.search(request.path_info):
        return True
    return any(
        CONTROL_CHARACTERS.search(name) or any(CONTROL_CHARACTERS.search(v) for v in values)
        for name, values in request.GET.lists()
    )


class RejectControlCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if holds_control_characters(request):
            raise BadRequest("The address holds a control character.")
        return self.get_response(request)
