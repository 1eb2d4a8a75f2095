from numbers.models import PhoneNumber
from numbers.selectors.numbers import number_overview
from portal.dashboard import Panel


def numbers_by_provider(request):
    if not request.user.has_perm("numbers.view_phonenumber"):
        return None
    rows, monthly_costs = number_overview()
    return Panel(
        "Numbers by provider and status",
        "numbers/panels/by_provider.html",
        {"rows": rows, "statuses": PhoneNumber.Status, "monthly_costs": monthly_costs},
        wide=True,
    )
