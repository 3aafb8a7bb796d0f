"""Tests: PostgreSQL when DATABASE_URL is set, SQLite otherwise."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in process unless a test starts a real worker (the celery_worker fixture).
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PUBLIC_MICROCACHE_SECONDS = 0.0  # a test that wants it turns it on
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "100000/min",
        "user": "100000/min",
        "auth": "100000/min",
        "pledge": "100000/min",
    },
}
OUTGOING_WEBHOOKS_ALLOW_PRIVATE = True
LANGUAGE_CODE = "en"

# Static files straight from the apps, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
