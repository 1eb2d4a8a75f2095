from billing.views import balances, plans, spend, transactions

app_name = "billing"
urlpatterns = [
    *transactions.urlpatterns,
    *balances.urlpatterns,
    *spend.urlpatterns,
    *plans.urlpatterns,
]
