from django.urls import path

from . import campaign_views, fund_money_views, fund_views, ledger_views, views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/password-reset/", views.password_reset, name="password-reset"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("accounts/reset/done/", views.password_reset_done, name="password-reset-done"),
    path("account/", views.account, name="account"),
    path("account/export/", views.account_export, name="account-export"),
    path("account/delete/", views.account_delete, name="account-delete"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    *ledger_views.urlpatterns,
    *campaign_views.urlpatterns,
    *fund_views.urlpatterns,
    *fund_money_views.urlpatterns,
]
