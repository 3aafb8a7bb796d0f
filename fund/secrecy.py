"""Secret ballots that a member can change until close.

While voting is open, a ballot row is keyed by HMAC-SHA256(secret, scope:member id), with a
random secret per poll or round kept in its row: the server finds a member's current ballot to
replace it, and nothing else stores who voted what. At close the secret is erased and the ballot
rows are deleted, after being written, shuffled and without keys, to the published file.
"""

import hashlib
import hmac
import secrets
from typing import Any

from django.db import connection
from django.db.models import Model


def voter_secret_new() -> str:
    return secrets.token_hex(32)


def voter_key(*, secret: str, scope: str, user_id: int) -> str:
    message = f"{scope}:{user_id}".encode()
    return hmac.new(bytes.fromhex(secret), message, hashlib.sha256).hexdigest()


def shuffled(items: list[Any]) -> list[Any]:
    """A copy in an order drawn from the operating system's CSPRNG."""
    copy = list(items)
    secrets.SystemRandom().shuffle(copy)
    return copy


def lock_for_share(model: type[Model], pk: int) -> None:
    """Hold a shared lock on a row until the transaction ends.

    Voters share it, so they never wait for one another; closing takes the row FOR UPDATE, so it
    waits for ballots in flight and no ballot lands after the count. SQLite runs one writer at a
    time, which gives the same guarantee.
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR SHARE", [pk])  # noqa: S608
