from django.utils.cache import patch_vary_headers


class HtmxTableMixin:
    """For pages built on `list_page.html`: when htmx asks to swap the table (the element
    with id `table`), render only the page's `table` partial; otherwise, including htmx
    history restores after a cache miss, render the full page."""

    htmx_target = "table"
    partial_template_name = "list_page.html#table"

    def wants_partial(self):
        htmx = self.request.htmx
        return bool(htmx) and not htmx.history_restore_request and htmx.target == self.htmx_target

    def get_template_names(self):
        if self.wants_partial():
            return [self.partial_template_name]
        return super().get_template_names()

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        # The same URL answers with a page or a fragment: caches must keep them apart.
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
