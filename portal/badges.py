"""A choice (a status, a state, a kind) as a Bootstrap badge in its colour, the one way
tables and templates ({% status_badge %}) show one. The colours stay with the choices:
each choice has a `badge` (portal.choices.BadgeChoices, e.g. PhoneNumber.Status)."""

from html import escape

from django.utils.safestring import SafeString, mark_safe

# A value its choices do not list (the database does not enforce them): shown as it is, in
# a neutral colour, rather than breaking the page.
UNLISTED = "text-bg-light"


def status_badge(choices, value, label=None, *, testid=None) -> SafeString:
    """`value` of `choices` as `<span class="badge …">`, named by its label unless `label`
    is given; `testid` gives it a data-testid. The standard library's escape (what Django's
    calls), as the numbers list writes a badge on every row."""
    try:
        choice = choices(value)
    except ValueError:
        colour, name = UNLISTED, value
    else:
        colour, name = choice.badge, choice.label
    name = name if label is None else label
    testid = "" if testid is None else f' data-testid="{escape(testid)}"'
    return mark_safe(  # noqa: S308 - every value written in is escaped
        f'<span class="badge {escape(colour)}"{testid}>{escape(str(name))}</span>'
    )
