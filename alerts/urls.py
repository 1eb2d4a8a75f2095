"""/alerts/: the history of alerts, the rules, webhook channels and each user's profile."""

from alerts.views import channels, profile

app_name = "alerts"

urlpatterns: list = [
    # The profile page: e-mail address, subscriptions, test e-mail, password.
    *profile.urlpatterns,
    # Webhook channels (/alerts/channels/…).
    *channels.urlpatterns,
]
