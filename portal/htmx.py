"""htmx on the portal's pages: one URL answers with the whole page or, when htmx asks to
swap one element, with that element's partial only."""

from django.views.decorators.vary import vary_on_headers

# The same URL answers with a page or a fragment: caches must keep them apart. Django's
# decorator passes every argument through, so it serves a view function as well as a
# method that returns the response (`render_to_response`, a page's `get`).
vary_on_htmx = vary_on_headers("HX-Request", "HX-Target")


def htmx_partial(request, target: str) -> bool:
    """Whether this is htmx asking for the element with id `target` alone. A history
    restore (htmx's cache missed) wants the full page, whatever its target."""
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


class HtmxTableMixin:
    """For pages built on `list_page.html`: when htmx asks to swap the table (the element
    with id `table`), render only the page's `table` partial; otherwise, including htmx
    history restores after a cache miss, render the full page."""

    htmx_target = "table"
    partial_template_name = "list_page.html#table"

    def get_template_names(self):
        if htmx_partial(self.request, self.htmx_target):
            return [self.partial_template_name]
        return super().get_template_names()

    @vary_on_htmx
    def render_to_response(self, context, **kwargs):
        return super().render_to_response(context, **kwargs)
