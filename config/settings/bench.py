"""The pledge surge benchmark (`bench/pledge_surge.py`): production-like, plus the floor endpoints.

PostgreSQL and Redis from the environment, tasks on a real worker, no debug, quiet logs,
throttling still on but with rates no benchmark client reaches. The floor endpoints live in
`bench/urls.py`, routed only here.
"""

from datetime import timedelta

from .base import *  # noqa: F403
from .base import CELERY_BEAT_SCHEDULE, INSTALLED_APPS, LOGGING, REST_FRAMEWORK, env

DEBUG = False
ROOT_URLCONF = "bench.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# Throttling stays on, with rates no client reaches. DRF keeps each client's request times over
# the rate's window, so the window is one second (a history as short as production's), and each
# benchmark client is its own address (X-Forwarded-For, read behind one proxy), as real readers are.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "NUM_PROXIES": 1,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "100000/s",
        "user": "100000/s",
        "pledge": "100000/s",
    },
}

# The sweepers run often in the outage run, so work deferred while Redis was down is published
# again within seconds instead of minutes (with CAMPAIGNS_SWEEP_GRACE_SECONDS set short).
_SWEEP_EVERY = timedelta(seconds=env.int("BENCH_SWEEP_SECONDS", default=120))
CELERY_BEAT_SCHEDULE = {
    name: {**entry, "schedule": _SWEEP_EVERY} if name.endswith("-sweep") else entry
    for name, entry in CELERY_BEAT_SCHEDULE.items()
}

# Emails are rendered and handed to a backend that drops them: an SMTP relay is not under test.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": env("LOG_LEVEL", default="WARNING")}}
