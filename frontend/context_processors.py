from typing import Any

from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict[str, Any]:
    return {
        "is_sandbox": settings.PAYMENTS_PROVIDER == "sandbox",
        "platform_currency": settings.PLATFORM_CURRENCY,
    }
