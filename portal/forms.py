from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


class QuickSelectRenderer(DjangoTemplates):
    """Django's form renderer, with `<select>`s written in Python.

    Django renders each option through a template include: the country filter's 250 options
    cost more than the rest of a list page's form. These are the same characters, as a
    test checks against Django's templates; every other widget renders as before."""

    def render(self, template_name, context, request=None):
        widget = context.get("widget", {})
        if template_name == SELECT_TEMPLATE and all(
            option["template_name"] == OPTION_TEMPLATE
            for _, options, _ in widget.get("optgroups", ())
            for option in options
        ):
            return render_select(widget)
        return super().render(template_name, context, request)


def _attrs(attrs: dict) -> str:
    """What django/forms/widgets/attrs.html writes: ` name="value"`, ` name` for True."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def render_select(widget: dict) -> str:
    """The HTML django/forms/widgets/select.html makes of a Select widget's context."""
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _ in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in options:
            parts.append(
                f'\n  <option value="{conditional_escape(option["value"])}"'
                f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every value in it is escaped


class LoginForm(AuthenticationForm):
    """Django's login form with Bootstrap classes and the autocomplete hints browsers and
    password managers expect."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "username", "autofocus": True}
        )
        self.fields["password"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "current-password"}
        )


def style_filter_form(form):
    """Give a form's visible widgets Bootstrap's compact classes (filters, the spend
    report's period, the numbers list's bulk change)."""
    for field in form.fields.values():
        if field.widget.is_hidden:
            continue
        is_select = isinstance(field.widget, forms.Select)
        field.widget.attrs["class"] = (
            "form-select form-select-sm" if is_select else "form-control form-control-sm"
        )


class MarksInvalidFields:
    """Form mixin: the widget of a field with errors gets Bootstrap's `is-invalid` class,
    so the field shows as refused with its errors in place; `aria_invalid` also marks it
    aria-invalid for screen readers."""

    aria_invalid = False

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                if self.aria_invalid:
                    widget.attrs["aria-invalid"] = "true"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        # The browser's date picker reads and writes ISO dates whatever the locale.
        super().__init__(attrs, format="%Y-%m-%d")


class MoreFiltersMixin:
    """For a FilterSet whose form shows the `PRIMARY` fields and keeps the rest behind
    "More filters", which opens when one of those is in use."""

    PRIMARY: tuple[str, ...] = ()

    @property
    def primary_fields(self):
        return [self.form[name] for name in self.PRIMARY]

    @property
    def more_fields(self):
        return [self.form[name] for name in self.form.fields if name not in self.PRIMARY]

    @property
    def more_in_use(self) -> bool:
        data = self.data or {}
        return any(data.get(name) for name in self.form.fields if name not in self.PRIMARY)
