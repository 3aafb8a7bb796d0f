"""Personal API tokens: `Authorization: Bearer bc_<prefix>_<secret>`."""

import hashlib
from datetime import timedelta
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import ApiToken, User

TOKEN_PREFIX = "bc_"  # noqa: S105 (a prefix, not a secret)
# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@cache
def _token_lookup_sql(alias: str) -> tuple[str, list[Any], list[Any]]:
    """The token and its owner in one statement, written once per database from the models'
    own columns. Every API request authenticates, and building this query through the ORM
    costs five times what running it does."""
    quote = connections[alias].ops.quote_name

    def column(model: type[Model], name: str) -> str:
        return quote(str(model._meta.get_field(name).column))  # type: ignore[union-attr]

    token_columns = [field.get_col("t") for field in ApiToken._meta.concrete_fields]
    user_columns = [field.get_col("u") for field in User._meta.concrete_fields]
    select = ", ".join(
        [f"t.{quote(str(col.target.column))}" for col in token_columns]
        + [f"u.{quote(str(col.target.column))}" for col in user_columns]
    )
    sql = (
        f"SELECT {select} FROM {quote(ApiToken._meta.db_table)} t "  # noqa: S608 (model names)
        f"JOIN {quote(User._meta.db_table)} u ON u.{column(User, 'id')} = t.{column(ApiToken, 'user')} "
        f"WHERE t.{column(ApiToken, 'key_hash')} = %s"
    )
    return sql, token_columns, user_columns


def _from_row(model: type[Model], alias: str, columns: list[Any], values: Any) -> Any:
    """An instance from raw column values, through the same converters the ORM applies."""
    connection = connections[alias]
    converted = []
    for col, value in zip(columns, values, strict=True):
        for converter in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            value = converter(value, col, connection)
        converted.append(value)
    return model.from_db(alias, [col.target.attname for col in columns], converted)


def token_with_user(key_hash: str) -> Any:
    """The `ApiToken` with this hash, its user set, or None."""
    alias = router.db_for_read(ApiToken) or "default"
    sql, token_columns, user_columns = _token_lookup_sql(alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(token_columns)
    token = _from_row(ApiToken, alias, token_columns, row[:split])
    token.user = _from_row(User, alias, user_columns, row[split:])
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
