"""The shape of a row of the authorization table."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ANON = "anonymous"
SIGNED_IN = ["supporter", "member", "lead", "treasurer", "moderator", "auditor"]


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys([ANON, *SIGNED_IN], status)


def signed_in(status: int, anonymous: int = 401) -> dict[str, int]:
    return {ANON: anonymous, **dict.fromkeys(SIGNED_IN, status)}


def only(roles: list[str], status: int, others: int = 403, anonymous: int = 401) -> dict[str, int]:
    table = {ANON: anonymous, **dict.fromkeys(SIGNED_IN, others)}
    table.update(dict.fromkeys(roles, status))
    return table


@dataclass
class Row:
    method: str
    path: str
    expect: dict[str, int]
    body: Any = None
    setup: Callable[[Any], dict[str, Any]] | None = field(default=None)
