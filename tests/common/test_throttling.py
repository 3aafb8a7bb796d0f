from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import SimpleRateThrottle

from common.throttling import SlidingLogMixin
from members.services import api_token_create
from tests.factories import UserFactory
from tests.fixtures import require_service, worker_broker_url

pytestmark = pytest.mark.django_db

RATES = {"anon": "3/min", "user": "2/min", "auth": "100/min", "pledge": "100/min"}


def _redis_cache_url() -> str | None:
    """A Redis database of this test process's own, next to its workers' broker database."""
    url = worker_broker_url()
    if url is None:
        return None
    prefix, _, number = url.rpartition("/")
    return f"{prefix}/{(int(number) + 8) % 16}"


@contextmanager
def _rates_on(kind: str, monkeypatch, settings):
    if kind == "redis":
        url = _redis_cache_url()
        require_service("Redis", url is not None, "set REDIS_URL to a running Redis")
        settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)
    cache.clear()
    yield kind
    cache.clear()


@pytest.fixture(params=["locmem", "redis"])
def rates(request, monkeypatch, settings):
    """The rates above, with the cache of development (local memory) and of production (Redis,
    where the log is a sorted set)."""
    with _rates_on(request.param, monkeypatch, settings) as kind:
        yield kind


@pytest.fixture
def rates_locmem(monkeypatch, settings):
    with _rates_on("locmem", monkeypatch, settings) as kind:
        yield kind


@pytest.fixture
def rates_redis(monkeypatch, settings):
    with _rates_on("redis", monkeypatch, settings) as kind:
        yield kind


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


def test_an_anonymous_api_request_costs_one_throttle_read_and_write(rates_locmem, monkeypatch):
    calls: list[str] = []
    for name in ("get", "set"):
        original = getattr(cache, name)
        monkeypatch.setattr(
            cache, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k)
        )
    assert APIClient().get("/api/v1/themes").status_code == 200
    assert calls == ["get", "set"]


def test_with_redis_each_throttle_is_one_script_call(rates_redis, monkeypatch):
    from redis.commands.core import Script

    calls: list[str] = []
    original = Script.__call__
    monkeypatch.setattr(
        Script, "__call__", lambda self, *a, **k: calls.append("script") or original(self, *a, **k)
    )
    from django_redis.cache import RedisCache

    for name in ("get", "set"):
        monkeypatch.setattr(RedisCache, name, lambda *a, _n=name, **k: calls.append(_n))
    assert APIClient().get("/api/v1/themes").status_code == 200
    assert calls == ["script"]


def _script_calls(monkeypatch) -> list[str]:
    from redis.commands.core import Script

    calls: list[str] = []
    original = Script.__call__
    monkeypatch.setattr(
        Script, "__call__", lambda self, *a, **k: calls.append("script") or original(self, *a, **k)
    )
    return calls


def test_with_redis_all_the_rates_of_a_request_are_one_script_call(rates_redis, monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**RATES, "user": "3/min", "pledge": "2/min"}
    )
    _token, raw = api_token_create(
        user=UserFactory(), name="t", scopes=["write:pledges", "read:funds"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    calls = _script_calls(monkeypatch)
    # A pledge is counted by the user rate and the pledge rate: one call for both.
    answers = [client.post("/api/v1/pledges", {}, format="json").status_code for _ in range(3)]
    assert answers == [400, 400, 429]
    assert calls == ["script"] * 3
    # The refused pledge was kept in neither log: the user rate has room for one more request.
    assert _statuses(client, "/api/v1/pledges", 2) == [200, 429]
    assert len(cache.keys("throttle_*")) == 2  # the user's log and their pledge log


def test_with_redis_concurrent_requests_never_pass_over_the_rate(rates_redis):
    class FiveAMinute(SlidingLogMixin):
        rate = "5/min"

        def get_cache_key(self, request, view):
            return "throttle_test_concurrent"

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: FiveAMinute().allow_request(None, None), range(40)))
    assert answers.count(True) == 5


def test_a_refused_request_says_when_to_come_back_and_is_not_counted(rates, monkeypatch):
    clock = [1_000.0]
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: clock[0])
    client = APIClient()
    for _ in range(3):  # at 1000, 1010 and 1020: the anon rate is 3 a minute
        assert client.get("/api/v1/themes").status_code == 200
        clock[0] += 10
    refused = client.get("/api/v1/themes")  # at 1030
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) == 30  # when the one of 1000 leaves the minute
    clock[0] = 1_059.0
    assert client.get("/api/v1/themes").status_code == 429  # refused ones were not kept
    clock[0] = 1_061.0
    assert _statuses(client, "/api/v1/themes", 2) == [200, 429]


def test_the_pledge_rate_is_a_scope_of_its_own(rates, monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**RATES, "user": "100/min", "pledge": "2/min"}
    )
    user = UserFactory()
    _token, raw = api_token_create(user=user, name="t", scopes=["write:pledges", "read:funds"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answers = [client.post("/api/v1/pledges", {}, format="json").status_code for _ in range(3)]
    assert answers == [400, 400, 429]  # bad input still counts; the third is refused first
    assert client.get("/api/v1/pledges").status_code == 200  # reads are not in the scope


def test_with_redis_down_throttling_fails_open(rates_redis, monkeypatch):
    from redis.commands.core import Script
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(self, *args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(Script, "__call__", down)
    assert _statuses(APIClient(), "/api/v1/themes", 5) == [200] * 5


def test_a_rate_that_does_not_count_the_request_asks_redis_nothing(rates_redis, monkeypatch):
    import common.throttling as throttling

    asked: list[str] = []
    monkeypatch.setattr(throttling, "_sliding_log", lambda: asked.append("redis"))
    anonymous = Request(APIRequestFactory().get("/"))
    anonymous.user = AnonymousUser()
    assert throttling.SignedInRateThrottle().allow_request(anonymous, None) is True
    assert asked == []
