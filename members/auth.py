"""Personal API tokens: `Authorization: Bearer bc_<prefix>_<secret>`."""

import hashlib
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from common.db import CompiledQuery

from .models import ApiToken, User

TOKEN_PREFIX = "bc_"  # noqa: S105 (a prefix, not a secret)
# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


_TOKEN_FIELDS = [field.attname for field in ApiToken._meta.concrete_fields]
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
# The token and its owner in one statement, compiled once: every API request authenticates, and
# building this join through the ORM costs several times what running it does.
_TOKEN_LOOKUP = CompiledQuery(
    lambda key_hash: ApiToken.objects.filter(key_hash=key_hash).values(
        *_TOKEN_FIELDS, *(f"user__{name}" for name in _USER_FIELDS)
    ),
    {"key_hash": "\x00token-lookup:key_hash"},
)


def token_with_user(key_hash: str) -> Any:
    """The `ApiToken` with this hash, its user set, or None."""
    rows = _TOKEN_LOOKUP.rows(key_hash=key_hash)
    if not rows:
        return None
    (row,) = rows
    token = ApiToken.from_db("default", _TOKEN_FIELDS, [row[name] for name in _TOKEN_FIELDS])
    token.user = User.from_db(
        "default", _USER_FIELDS, [row[f"user__{name}"] for name in _USER_FIELDS]
    )
    return token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword != self.keyword:
            return None
        raw = raw.strip()
        if not raw.startswith(TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed("Malformed token.")
        token = token_with_user(token_hash(raw))
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token has been revoked.")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This token has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This account is inactive.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "members.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "bc_<prefix>_<secret>"}
