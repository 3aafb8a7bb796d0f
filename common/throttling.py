"""Throttles.

DRF's UserRateThrottle also counts anonymous requests, by address, which AnonRateThrottle
already does with a stricter rate: two reads and two writes of the cache per anonymous API
request where one read and one write decide. Here the user rate counts signed-in people only.

DRF keeps each client's recent request times as a pickled list that it reads and writes back
whole: two round trips to the cache per throttle, and a race in which two concurrent requests
both pass on the last place. With Redis as the cache the same sliding log is a sorted set that
a script trims, counts and adds to in one atomic round trip. A request that the log refuses is
not kept in it, as in DRF. With another cache (local memory, in development) DRF's own code
runs.
"""

import secrets
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as default_cache
from rest_framework.request import Request
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

# KEYS[1] the log; ARGV: now, window in seconds, the rate's number of requests, a unique member.
# Returns {1} when the request is let through (and logged), {0, oldest time} when it is refused.
SLIDING_LOG_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
  return {1}
end
return {0, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
"""


@cache
def _uses_redis(backend: str) -> bool:
    return backend.startswith("django_redis.")


def _sliding_log() -> Any | None:
    """The script, bound to the cache's Redis (redis-py runs it by its hash), or None."""
    if not _uses_redis(settings.CACHES["default"]["BACKEND"]):
        return None
    from django_redis import get_redis_connection

    client = get_redis_connection("default")
    script = getattr(client, "_sliding_log_script", None)
    if script is None:
        script = client._sliding_log_script = client.register_script(SLIDING_LOG_SCRIPT)
    return script


class SlidingLogMixin(SimpleRateThrottle):
    """DRF's sliding log in a Redis sorted set (see the module's docstring)."""

    oldest: float | None = None
    duration: int
    num_requests: int

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True  # not counted by this rate (an anonymous reader for the user rate)
        script = _sliding_log()
        if script is None:
            return bool(super().allow_request(request, view))
        from redis.exceptions import RedisError

        self.now = now = self.timer()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        try:
            answer = script(
                keys=[default_cache.make_key(self.key)],
                args=[repr(now), self.duration, self.num_requests, member],
            )
        except RedisError:
            return True  # a cache outage must not take the API down: throttling fails open
        if answer[0] == 1:
            return True
        self.oldest = float(answer[1]) if len(answer) > 1 and answer[1] else now
        return bool(self.throttle_failure())

    def wait(self) -> float | None:
        if self.oldest is None:
            return super().wait()
        return max(self.duration - (self.now - self.oldest), 0.0)


class AnonThrottle(SlidingLogMixin, AnonRateThrottle):
    """The "anon" rate, per address."""


class SignedInRateThrottle(SlidingLogMixin, UserRateThrottle):
    """The "user" rate, per signed-in person; anonymous requests are left to the "anon" rate."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedThrottle(ScopedRateThrottle, SlidingLogMixin):
    """A view's own rate (`throttle_scope`), per person or address. DRF's scoped throttle reads
    the view's rate first, then the log decides."""
