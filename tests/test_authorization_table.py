"""One row per API operation and role: each role can do exactly what it should, and nothing more.

The table must cover every operation in the OpenAPI schema; a new endpoint without rows fails
`test_every_operation_has_a_row`. Rows live next to each app's tests, in modules named `authz_*.py`.
"""

import importlib
import itertools
from pathlib import Path

import pytest
from django.test import Client

from tests.fixtures import ROLES

pytestmark = pytest.mark.django_db

TESTS = Path(__file__).parent


def _rows():
    rows = []
    for path in sorted(TESTS.rglob("authz_*.py")):
        module = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        rows.extend(importlib.import_module(module).ROWS)
    return rows


ROWS = _rows()
CASES = [(row, role) for row, role in itertools.product(ROWS, ROLES)]


def test_every_operation_has_a_row():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    covered = {(row.method, row.path) for row in ROWS}
    assert operations - covered == set(), "operations without authorization rows"
    assert covered - operations == set(), "rows for operations that do not exist"
    for row in ROWS:
        assert set(row.expect) == set(ROLES), f"{row.method} {row.path} must list every role"


@pytest.mark.parametrize(
    ("row", "role"), CASES, ids=[f"{r.method} {r.path} as {role}" for r, role in CASES]
)
def test_role_can_do_exactly_what_it_should(row, role, client_as):
    client, user = client_as(role)
    context = row.setup(user) if row.setup else {}
    url = row.path.format(**context)
    body = row.body(context) if callable(row.body) else row.body
    response = (
        getattr(client, row.method.lower())(url, body, format="json")
        if body is not None
        else getattr(client, row.method.lower())(url)
    )
    expected = row.expect[role]
    assert response.status_code == expected, (
        f"{row.method} {url} as {role}: {response.status_code} {response.content[:300]!r}"
    )
    if expected >= 400:
        assert set(response.json()) == {"error"}
