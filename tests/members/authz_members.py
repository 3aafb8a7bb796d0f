import itertools

from members.services import api_token_create
from tests.authz import Row, everyone, only, signed_in

_emails = itertools.count()
STRONG = "a-long-and-unusual-passphrase"


def _fresh_signup(_context):
    return {"email": f"new{next(_emails)}@example.org", "password": STRONG}


def _existing_account(user):
    from tests.factories import UserFactory

    other = UserFactory()
    return {"email": other.email}


def _own_token(user):
    if user is None:
        from tests.factories import UserFactory

        user = UserFactory()
    token, _raw = api_token_create(user=user, name="t", scopes=["read:profile"])
    return {"token_id": token.pk}


ROWS = [
    Row("POST", "/api/v1/auth/signup", everyone(201), body=_fresh_signup),
    Row(
        "POST",
        "/api/v1/auth/login",
        everyone(200),
        setup=_existing_account,
        body=lambda c: {"email": c["email"], "password": "correct-horse-battery-staple"},
    ),
    Row("POST", "/api/v1/auth/logout", everyone(204)),
    Row(
        "POST", "/api/v1/auth/password-reset", everyone(202), body={"email": "someone@example.org"}
    ),
    Row(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        everyone(400),
        body={"uid": "MQ", "token": "bad-token", "password": STRONG},
    ),
    Row("GET", "/api/v1/me", signed_in(200)),
    Row("PATCH", "/api/v1/me", signed_in(200), body={"display_name": "Renamed"}),
    Row("DELETE", "/api/v1/me", signed_in(204), body={"password": "correct-horse-battery-staple"}),
    Row("GET", "/api/v1/me/export", signed_in(200)),
    Row("GET", "/api/v1/me/membership", only(["member"], 200, others=404)),
    Row("GET", "/api/v1/tokens", signed_in(200)),
    Row("POST", "/api/v1/tokens", signed_in(201), body={"name": "ci", "scopes": ["read:funds"]}),
    Row("DELETE", "/api/v1/tokens/{token_id}", signed_in(200), setup=_own_token),
    Row("GET", "/api/v1/members", only(["treasurer", "moderator", "auditor"], 200)),
]
