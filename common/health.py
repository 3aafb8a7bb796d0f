"""Liveness and readiness for load balancers and orchestrators."""

import logging

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("readiness: database unavailable: %s", exc)
        return f"database: {exc.__class__.__name__}"
    return None


def _check_broker() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # tasks run in process: there is no broker to reach
    from config.celery_app import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
    except Exception as exc:
        logger.warning("readiness: broker unavailable: %s", exc)
        return f"broker: {exc.__class__.__name__}"
    return None


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database and the broker answer."""
    failures = [f for f in (_check_database(), _check_broker()) if f]
    checks = {
        "database": "ok" if not any(f.startswith("database") for f in failures) else "unavailable",
        "broker": ("in-process" if settings.CELERY_TASK_ALWAYS_EAGER else "ok")
        if not any(f.startswith("broker") for f in failures)
        else "unavailable",
    }
    if failures:
        return JsonResponse(
            {
                "error": {"code": "not_ready", "message": "; ".join(failures), "fields": {}},
                "checks": checks,
            },
            status=503,
        )
    return JsonResponse({"status": "ready", "checks": checks})
