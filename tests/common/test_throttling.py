import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from members.services import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RATES = {"anon": "3/min", "user": "2/min", "auth": "100/min", "pledge": "100/min"}


@pytest.fixture
def rates(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)
    cache.clear()
    yield
    cache.clear()


def _statuses(client: APIClient, path: str, n: int) -> list[int]:
    return [client.get(path).status_code for _ in range(n)]


def test_anonymous_requests_are_counted_by_the_anon_rate_only(rates):
    # The user rate (2/min) would refuse the third request if it still counted addresses.
    assert _statuses(APIClient(), "/api/v1/themes", 4) == [200, 200, 200, 429]
    assert APIClient().get("/api/v1/themes").json()["error"]["code"] == "throttled"


def test_signed_in_people_are_counted_by_the_user_rate(rates):
    user = UserFactory()
    _token, raw = api_token_create(user=user, name="t", scopes=["read:funds"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert _statuses(client, "/api/v1/pledges", 3) == [200, 200, 429]
    # Another person has a count of their own.
    other = APIClient()
    other.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=UserFactory(), name='t', scopes=['read:funds'])[1]}"
    )
    assert _statuses(other, "/api/v1/pledges", 1) == [200]


def test_an_anonymous_api_request_costs_one_throttle_read_and_write(rates, monkeypatch):
    calls: list[str] = []
    for name in ("get", "set"):
        original = getattr(cache, name)
        monkeypatch.setattr(
            cache, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k)
        )
    assert APIClient().get("/api/v1/themes").status_code == 200
    assert calls == ["get", "set"]
