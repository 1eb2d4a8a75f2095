from numbers.views import buying, detail, idle, lists, orders

app_name = "numbers"
urlpatterns = [
    *lists.urlpatterns,
    *idle.urlpatterns,
    *detail.urlpatterns,
    *buying.urlpatterns,
    *orders.urlpatterns,
]
