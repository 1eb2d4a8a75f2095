import django_filters

from portal.forms import style_filter_form
from portal.models import ProviderAccount, SyncRun


class SyncRunFilter(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(
        queryset=ProviderAccount.objects.select_related("provider"), empty_label="All accounts"
    )
    status = django_filters.ChoiceFilter(choices=SyncRun.Status.choices, empty_label="Any status")

    class Meta:
        model = SyncRun
        fields = ["account", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_filter_form(self.form)
