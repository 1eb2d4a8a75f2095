"""/alerts/: the history of alerts, the rules, webhook channels and each user's profile."""

from alerts.views import channels, history, profile, rules

app_name = "alerts"

urlpatterns: list = [
    # The history, an alert's page, acknowledging and snoozing; the rules (admins).
    *history.urlpatterns,
    *rules.urlpatterns,
    # The profile page: e-mail address, subscriptions, test e-mail, password.
    *profile.urlpatterns,
    # Webhook channels (/alerts/channels/…).
    *channels.urlpatterns,
]
