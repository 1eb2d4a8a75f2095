from numbers.views import buying, detail, lists, orders

app_name = "numbers"
urlpatterns = [
    *lists.urlpatterns,
    *detail.urlpatterns,
    *buying.urlpatterns,
    *orders.urlpatterns,
]
