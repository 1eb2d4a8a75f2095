import django_filters

from alerts.models import Alert
from alerts.selectors.alerts import visible_rules
from portal.filters import AccountFilter, StyledFilterSet

STATES = [("open", "Open"), ("cleared", "Cleared")]


class AlertFilter(StyledFilterSet):
    state = django_filters.ChoiceFilter(
        label="State", choices=STATES, method="in_state", empty_label="Any state"
    )
    # Only the rules whose alerts the user may see (the history shows no others).
    rule = django_filters.ModelChoiceFilter(
        queryset=lambda request: visible_rules(request.user), empty_label="Any rule"
    )
    account = AccountFilter()

    class Meta:
        model = Alert
        fields = ["state", "rule", "account"]

    def in_state(self, queryset, name, value):
        return queryset.filter(cleared_at__isnull=value == "open")
