from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import views
from portal.forms import LoginForm

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("health/", views.health, name="health"),
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (Django admin).
    path("favicon.ico", views.favicon),
    path("sync/", views.SyncRunListView.as_view(), name="sync_runs"),
    path("sync/start/", views.start_sync, name="start_sync"),
    path("sync/start/<int:account_id>/", views.start_sync, name="start_sync_account"),
    path("sync/progress/", views.sync_progress, name="sync_progress"),
    path("numbers/", include("numbers.urls")),
    path("billing/", include("billing.urls")),
    path("alerts/", include("alerts.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "portal.error_pages.server_error"
