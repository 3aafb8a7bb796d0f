from django.urls import path

from . import apis

app_name = "members"

urlpatterns = [
    path("auth/signup", apis.SignupApi.as_view(), name="signup"),
    path("auth/login", apis.LoginApi.as_view(), name="login"),
    path("auth/logout", apis.LogoutApi.as_view(), name="logout"),
    path("auth/password-reset", apis.PasswordResetApi.as_view(), name="password-reset"),
    path(
        "auth/password-reset/confirm",
        apis.PasswordResetConfirmApi.as_view(),
        name="password-reset-confirm",
    ),
    path("me", apis.MeApi.as_view(), name="me"),
    path("me/export", apis.MeExportApi.as_view(), name="me-export"),
    path("me/membership", apis.MeMembershipApi.as_view(), name="me-membership"),
    path("membership/shares", apis.MembershipSharesBuyApi.as_view(), name="membership-shares"),
    path("membership/end", apis.MembershipEndApi.as_view(), name="membership-end"),
    path("tokens", apis.ApiTokenListCreateApi.as_view(), name="tokens"),
    path("tokens/<int:token_id>", apis.ApiTokenRevokeApi.as_view(), name="token-revoke"),
    path("members", apis.MemberListApi.as_view(), name="member-list"),
]
