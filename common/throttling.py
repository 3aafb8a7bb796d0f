"""Throttles.

DRF's UserRateThrottle also counts anonymous requests, by address, which AnonRateThrottle
already does with a stricter rate: two reads and two writes of the cache per anonymous API
request where one read and one write decide. Here the user rate counts signed-in people only.
"""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle


class SignedInRateThrottle(UserRateThrottle):
    """The "user" rate, per signed-in person; anonymous requests are left to the "anon" rate."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)
