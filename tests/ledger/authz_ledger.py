"""The open ledger is public: every role, signed in or not, reads the same books."""

from typing import Any

from tests.authz import Row, everyone


def _books(_user: Any) -> dict[str, Any]:
    from tests.ledger.conftest import build_books

    books = build_books()
    entry = books.entries["pledge1"]
    return {
        "entry_id": entry.pk,
        "height": books.blocks[-1].height,
        "code": "campaign:7:campaign_escrow:EUR",
    }


ROWS = [
    Row("GET", "/api/v1/ledger/entries", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/entries/{entry_id}", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/entries/{entry_id}/proof", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/accounts", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/accounts/{code}", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/blocks", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/blocks/{height}", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/export.jsonl", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/export.csv", everyone(200), setup=_books),
    Row("GET", "/api/v1/ledger/trial-balance", everyone(200), setup=_books),
]
