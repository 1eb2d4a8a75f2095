from urllib.parse import urlencode

from django.urls import reverse

from billing.models import Transaction
from billing.selectors.balances import WARNING_DAYS, balances_with_runway, needing_attention
from portal.dashboard import Panel


def balances_for(request):
    """The balances with their runway, worked out once per request: two panels show them,
    and each time costs a pass over the last month's transactions."""
    if not hasattr(request, "balances_with_runway"):
        request.balances_with_runway = balances_with_runway()
    return request.balances_with_runway


def balance_warnings(request):
    """Accounts under their low-balance threshold, or that will be within WARNING_DAYS at
    their recent burn rate; no panel at all while every account is fine."""
    if not request.user.has_perm("billing.view_balancesnapshot"):
        return None
    attention = needing_attention(balances_for(request))
    if not attention:
        return None
    return Panel(
        "Balance warnings",
        "billing/panels/balance_warnings.html",
        {"balances": attention, "warning_days": WARNING_DAYS},
        wide=True,
    )


def latest_balances(request):
    """Each active account's latest balance, with its runway (`account.runway`)."""
    if not request.user.has_perm("billing.view_balancesnapshot"):
        return None
    accounts = []
    for balance in balances_for(request):
        balance.account.runway = balance
        accounts.append(balance.account)
    return Panel(
        "Latest balance per account",
        "billing/panels/latest_balances.html",
        {"accounts": accounts, "warning_days": WARNING_DAYS},
    )


NUMBER_TRANSACTIONS_SHOWN = 30


def number_transactions(request, phone_number):
    """The number's latest transactions on its detail page (settings.NUMBER_DETAIL_PANELS),
    with a way on to all of its account's."""
    if not request.user.has_perm("billing.view_transaction"):
        return None
    latest = list(
        Transaction.objects.filter(phone_number=phone_number).order_by("-occurred_at", "-id")[
            : NUMBER_TRANSACTIONS_SHOWN + 1
        ]
    )
    query = urlencode({"account": phone_number.account_id})
    return Panel(
        "Transactions",
        "billing/panels/number_transactions.html",
        {
            "transactions": latest[:NUMBER_TRANSACTIONS_SHOWN],
            "more": len(latest) > NUMBER_TRANSACTIONS_SHOWN,
            "shown": NUMBER_TRANSACTIONS_SHOWN,
            "account_transactions_url": f"{reverse('billing:transactions')}?{query}",
            "account": phone_number.account,
        },
        wide=True,
    )
