"""Throttles.

DRF's UserRateThrottle also counts anonymous requests, by address, which AnonRateThrottle
already does with a stricter rate: two reads and two writes of the cache per anonymous API
request where one read and one write decide. Here the user rate counts signed-in people only.

DRF keeps each client's recent request times as a pickled list that it reads and writes back
whole: two round trips to the cache per throttle, and a race in which two concurrent requests
both pass on the last place. With Redis as the cache the same sliding log is a sorted set that
a script trims, counts and adds to atomically, for all the rates of a request in one round trip.
A request that any of its rates refuses is kept in none of their logs. With another cache (local
memory, in development) DRF's own code runs.
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

# KEYS: the request's logs (one per rate that counts it); ARGV: now, a unique member, then each
# log's window in seconds and number of requests. The request is kept in every log only if each
# has room for it. Returns, per log, '' when it had room and its oldest time when it was full.
SLIDING_LOG_SCRIPT = """
local full = false
local answer = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1] - ARGV[1 + 2 * i])
  if redis.call('ZCARD', key) < tonumber(ARGV[2 + 2 * i]) then
    answer[i] = ''
  else
    full = true
    answer[i] = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
  end
end
if not full then
  for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, ARGV[1], ARGV[2])
    redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[1 + 2 * i])) + 1)
  end
end
return answer
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
    """DRF's sliding log in a Redis sorted set (see the module's docstring).

    DRF asks each of a view's throttles in turn. The first of them that keeps its log in Redis
    asks the script for all of them at once, and the others read their answer from the request.
    """

    oldest: float | None = None
    duration: int
    num_requests: int

    def log(self, request: Request, view: Any) -> str | None:
        """This rate's log for the request, or None if the rate does not count it."""
        if self.rate is None:
            return None
        return self.get_cache_key(request, view)

    def allow_request(self, request: Request, view: Any) -> bool:
        self.key = self.log(request, view)
        if self.key is None:
            return True  # not counted by this rate (an anonymous reader for the user rate)
        script = _sliding_log()
        if script is None:
            return bool(super().allow_request(request, view))
        answers = getattr(request, "_sliding_logs", None)
        if answers is None:
            answers = self._ask(script, request, view)
            if request is not None:
                request._sliding_logs = answers  # type: ignore[attr-defined]
        now, oldest = answers.get(type(self), (0.0, None))
        if oldest is None:
            return True  # room in the log, or Redis down: throttling fails open
        self.now, self.oldest = now, oldest
        return bool(self.throttle_failure())

    def _ask(self, script: Any, request: Request, view: Any) -> dict[type, tuple[float, Any]]:
        """{throttle class: (now, None if it had room, else the oldest time in its log)} for
        every throttle of the view that keeps a sliding log in Redis."""
        from redis.exceptions import RedisError

        logs: dict[type, SlidingLogMixin] = {type(self): self}
        for throttle in view.get_throttles() if view is not None else ():
            if isinstance(throttle, SlidingLogMixin) and type(throttle) not in logs:
                throttle.key = throttle.log(request, view)
                if throttle.key is not None:
                    logs[type(throttle)] = throttle
        now = self.timer()
        args: list[Any] = [repr(now), f"{now:.6f}:{secrets.token_hex(4)}"]
        for throttle in logs.values():
            args += [throttle.duration, throttle.num_requests]
        try:
            answer = script(
                keys=[default_cache.make_key(throttle.key) for throttle in logs.values()],
                args=args,
            )
        except RedisError:
            return {}
        return {
            kind: (now, float(full) if full else None)
            for kind, full in zip(logs, answer, strict=True)
        }

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


class ScopedThrottle(SlidingLogMixin, ScopedRateThrottle):
    """A view's own rate (`throttle_scope`), per person or address."""

    def log(self, request: Request, view: Any) -> str | None:
        # What DRF's scoped throttle does before it asks the log: the view's scope gives the rate.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return None
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)  # type: ignore[assignment]
        return super().log(request, view)
