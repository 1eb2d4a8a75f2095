"""/alerts/: the history of alerts, the rules, webhook channels and each user's profile."""

from django.urls import path  # noqa: F401 (each page's module adds its routes below)

from alerts.views import channels

app_name = "alerts"

urlpatterns: list = [
    # Webhook channels (/alerts/channels/…).
    *channels.urlpatterns,
]
