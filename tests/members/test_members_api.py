import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from members.models import ApiToken, Membership, User

pytestmark = pytest.mark.django_db

STRONG = "a-long-and-unusual-passphrase"


def error(response):
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


def test_signup_creates_account_and_session(api_client):
    response = api_client.post(
        "/api/v1/auth/signup",
        {"email": "Alice@Example.org", "password": STRONG, "display_name": "Alice"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["email"] == "alice@example.org"
    assert response.json()["roles"] == ["supporter"]
    assert api_client.get("/api/v1/me").json()["email"] == "alice@example.org"


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"email": "bob@example.org", "password": "short"}, "password", "validation_error"),
        (
            {"email": "bob@example.org", "password": "12345678901234"},
            "password",
            "validation_error",
        ),
        ({"email": "bob@example.org", "password": "password123"}, "password", "validation_error"),
        ({"email": "not-an-email", "password": STRONG}, "email", "validation_error"),
        ({"email": 42, "password": STRONG}, "email", "validation_error"),
        ({"email": "bob@example.org", "password": ["x"]}, "password", "validation_error"),
        (
            {"email": "bob@example.org", "password": STRONG, "is_staff": True},
            "is_staff",
            "validation_error",
        ),
        ({"password": STRONG}, "email", "validation_error"),
    ],
)
def test_signup_refuses_bad_input_and_writes_nothing(api_client, payload, field, code):
    response = api_client.post("/api/v1/auth/signup", payload, format="json")
    assert response.status_code == 400
    err = error(response)
    assert err["code"] == code
    assert field in err["fields"]
    assert User.objects.count() == 0


def test_signup_duplicate_email_is_refused_case_insensitively(api_client, make_user):
    make_user(email="carol@example.org")
    response = api_client.post(
        "/api/v1/auth/signup", {"email": "CAROL@example.org", "password": STRONG}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["code"] == "email_taken"
    assert error(response)["fields"] == {
        "email": ["An account with this email address already exists."]
    }
    assert User.objects.count() == 1


def test_malformed_json_gets_400_in_the_error_format(api_client):
    response = api_client.post(
        "/api/v1/auth/signup",
        data='{"email": "x@example.org", "password": ',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert error(response)["code"] == "malformed_request"
    assert User.objects.count() == 0


def test_json_that_is_not_an_object_is_refused(api_client):
    response = api_client.post(
        "/api/v1/auth/signup", data="[1, 2]", content_type="application/json"
    )
    assert response.status_code == 400
    assert error(response)["code"] == "validation_error"
    assert "non_field_errors" in error(response)["fields"]


def test_form_encoded_body_is_unsupported(api_client):
    response = api_client.post(
        "/api/v1/auth/signup",
        data="email=a@example.org",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert error(response)["code"] == "unsupported_media_type"


def test_login_and_logout(api_client, make_user):
    make_user(email="dan@example.org")
    bad = api_client.post(
        "/api/v1/auth/login",
        {"email": "dan@example.org", "password": "wrong-password-here"},
        format="json",
    )
    assert bad.status_code == 400
    assert error(bad)["code"] == "invalid_credentials"
    good = api_client.post(
        "/api/v1/auth/login",
        {"email": "DAN@example.org", "password": "correct-horse-battery-staple"},
        format="json",
    )
    assert good.status_code == 200
    assert api_client.get("/api/v1/me").status_code == 200
    assert api_client.post("/api/v1/auth/logout").status_code == 204
    anonymous = api_client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert error(anonymous)["code"] == "not_authenticated"


def test_password_reset_round_trip(api_client, make_user, django_capture_on_commit_callbacks):
    make_user(email="eve@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api_client.post(
                "/api/v1/auth/password-reset", {"email": "eve@example.org"}, format="json"
            ).status_code
            == 202
        )
        # An unknown address gets the same answer and no email.
        assert (
            api_client.post(
                "/api/v1/auth/password-reset", {"email": "nobody@example.org"}, format="json"
            ).status_code
            == 202
        )
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    uid, token = link.rstrip("/").split("/")[-2:]
    weak = api_client.post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": token, "password": "123"},
        format="json",
    )
    assert weak.status_code == 400
    assert "password" in error(weak)["fields"]
    forged = api_client.post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": "abc-def", "password": STRONG},
        format="json",
    )
    assert forged.status_code == 400
    assert error(forged)["code"] == "invalid_reset_token"
    done = api_client.post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": token, "password": STRONG},
        format="json",
    )
    assert done.status_code == 204
    assert (
        api_client.post(
            "/api/v1/auth/login", {"email": "eve@example.org", "password": STRONG}, format="json"
        ).status_code
        == 200
    )
    # The link works once: the password changed, so the token no longer matches.
    again = api_client.post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": token, "password": STRONG + "x"},
        format="json",
    )
    assert again.status_code == 400


def test_profile_update_refuses_unknown_fields(client_as):
    client, user = client_as("supporter")
    response = client.patch(
        "/api/v1/me", {"display_name": "New", "email": "hijack@example.org"}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["fields"] == {"email": ["Unknown field."]}
    user.refresh_from_db()
    assert user.display_name != "New"
    ok = client.patch(
        "/api/v1/me", {"display_name": "New", "public_identity": "anonymous"}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["public_name"] == "Anonymous"


def test_tokens_are_shown_once_stored_hashed_and_scoped(client_as):
    client, user = client_as("supporter")
    created = client.post(
        "/api/v1/tokens", {"name": "script", "scopes": ["read:profile"]}, format="json"
    )
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("bc_")
    stored = ApiToken.objects.get(user=user)
    assert raw not in {stored.key_hash, stored.prefix}
    assert len(stored.key_hash) == 64
    listed = client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["script"]
    assert "token" not in listed[0]

    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bearer.get("/api/v1/me").json()["email"] == user.email
    # The token lacks write:profile.
    denied = bearer.patch("/api/v1/me", {"display_name": "x"}, format="json")
    assert denied.status_code == 403
    assert error(denied)["code"] == "permission_denied"
    # A token cannot mint tokens.
    assert (
        bearer.post("/api/v1/tokens", {"name": "x", "scopes": ["admin"]}, format="json").status_code
        == 403
    )
    assert ApiToken.objects.count() == 1

    revoked = client.delete(f"/api/v1/tokens/{stored.pk}")
    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False
    after = bearer.get("/api/v1/me")
    assert after.status_code == 401
    assert error(after)["code"] == "authentication_failed"
    assert error(after)["message"] == "This token has been revoked."


def test_expired_and_unknown_tokens_are_refused(token_client):
    client, user, _raw = token_client(["read:profile"])
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert error(response)["message"] == "This token has expired."
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer bc_00000000_forged")
    assert forged.get("/api/v1/me").status_code == 401
    malformed = APIClient()
    malformed.credentials(HTTP_AUTHORIZATION="Bearer nonsense")
    assert error(malformed.get("/api/v1/me"))["message"] == "Malformed token."


def test_token_with_unknown_scope_or_past_expiry_is_refused(client_as):
    client, _user = client_as("supporter")
    unknown = client.post(
        "/api/v1/tokens", {"name": "x", "scopes": ["read:everything"]}, format="json"
    )
    assert unknown.status_code == 400
    assert "scopes" in error(unknown)["fields"]
    past = client.post(
        "/api/v1/tokens",
        {"name": "x", "scopes": ["read:profile"], "expires_at": "2020-01-01T00:00:00Z"},
        format="json",
    )
    assert past.status_code == 400
    assert "expires_at" in error(past)["fields"]
    assert ApiToken.objects.count() == 0


def test_membership_gives_exactly_one_vote_whatever_the_shares(client_as):
    client, user = client_as("member")
    Membership.objects.filter(user=user).update(shares=40)
    body = client.get("/api/v1/me/membership").json()
    assert body["shares"] == 40
    assert body["votes"] == 1
    assert body["capital"] == 40 * body["share_price"]


def test_data_export_contains_own_data_only(client_as, make_user):
    client, user = client_as("member")
    make_user(email="someone-else@example.org")
    response = client.get("/api/v1/me/export")
    assert response.status_code == 200
    text = json.dumps(response.json())
    assert user.email in text
    assert "someone-else@example.org" not in text
    assert response.json()["memberships"][0]["shares"] == 2


def test_account_deletion_pseudonymises(client_as):
    client, user = client_as("member")
    wrong = client.delete("/api/v1/me", {"password": "not-my-password"}, format="json")
    assert wrong.status_code == 400
    user.refresh_from_db()
    assert user.is_active
    response = client.delete(
        "/api/v1/me", {"password": "correct-horse-battery-staple"}, format="json"
    )
    assert response.status_code == 204
    user.refresh_from_db()
    assert not user.is_active
    assert user.email.endswith("@deleted.invalid")
    assert user.public_name == "Anonymous"
    assert user.display_name == ""
    # The membership (a money record) stays.
    assert Membership.objects.filter(user=user).count() == 1
