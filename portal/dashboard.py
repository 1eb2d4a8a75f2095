"""The dashboard is a list of panels contributed by the apps (settings.DASHBOARD_PANELS).

Each panel function takes the request and returns a Panel, or None when the user may not
see it, so `portal` shows billing figures without importing `billing` (dependencies point
billing → numbers → portal)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Panel:
    title: str
    template: str
    context: dict = field(default_factory=dict)
    wide: bool = False


def panels_for(request):
    panels = (import_string(path)(request) for path in settings.DASHBOARD_PANELS)
    return [panel for panel in panels if panel is not None]
