"""Settings shared by every environment, read from the environment.

With no environment at all the platform runs on SQLite, runs Celery tasks in process,
uses sandbox payments and prints emails to the console, so it starts on any machine.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

# Runtime support for the generic annotations of the type stubs (ModelAdmin[User] and so on).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env(
    "DJANGO_SECRET_KEY", default="insecure-local-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "common",
    "members",
    "ledger",
    "payments",
    "campaigns",
    "fund",
    "frontend",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "members.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "frontend.context_processors.platform",
            ],
        },
    },
]

# Database: SQLite by default, PostgreSQL from DATABASE_URL.
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'biencommun.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # transactions stay explicit in services
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections with health checks: without them a request pays a new connection.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# Optional read replica for the public pages and the exports.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = 60
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["common.db.ReplicaRouter"]

# Redis: broker and cache when REDIS_URL is set; otherwise in-process tasks and local memory.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # A cache outage must not take the API down: throttling and caching fail open.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not (REDIS_URL or env("CELERY_BROKER_URL", default=""))
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection before and after each task unless this
# is set: every task would open a new PostgreSQL connection. Instead the worker keeps them as a
# web process does, tidied around each task by CONN_MAX_AGE and the health check
# (config/celery_app.py); the fixup itself closes them only after this many tasks.
CELERY_DB_REUSE_MAX = 10_000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged task (its worker died) is delivered again after this many seconds.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "payments.*": {"queue": "payments"},
    "ledger.*": {"queue": "ledger"},
    "campaigns.tasks.webhook_*": {"queue": "webhooks"},
    "campaigns.*": {"queue": "campaigns"},
    "fund.*": {"queue": "fund"},
}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "ledger-seal-blocks": {
        "task": "ledger.tasks.ledger_blocks_seal_task",
        "schedule": timedelta(minutes=5),
    },
    "ledger-verify-balances": {
        "task": "ledger.tasks.ledger_balances_verify_task",
        "schedule": crontab(hour=3, minute=0),
    },
    "payments-reconcile": {
        "task": "payments.tasks.payments_reconcile",
        "schedule": crontab(hour=4, minute=0),
    },
    "payments-sweep": {
        "task": "payments.tasks.payments_sweep",
        "schedule": timedelta(minutes=5),
    },
    "campaigns-close-due": {
        "task": "campaigns.tasks.campaigns_close_due",
        "schedule": timedelta(minutes=1),
    },
    "campaigns-sweep": {
        "task": "campaigns.tasks.campaigns_sweep",
        "schedule": timedelta(minutes=2),
    },
    "fund-governance-advance": {
        "task": "fund.tasks.fund_governance_advance",
        "schedule": timedelta(minutes=1),
    },
    "fund-money-sweep": {
        "task": "fund.money_tasks.fund_money_sweep",
        "schedule": timedelta(minutes=2),
    },
    "fund-loans-late-check": {
        "task": "fund.money_tasks.loans_late_check",
        "schedule": crontab(hour=6, minute=0),
    },
    "fund-year-close": {
        "task": "fund.money_tasks.fund_year_close_previous",
        "schedule": crontab(month_of_year=1, day_of_month=15, hour=5, minute=0),
    },
}

# Passwords
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
CSRF_FAILURE_VIEW = "common.api.csrf_failure"
LOGIN_URL = "frontend:login"
LOGIN_REDIRECT_URL = "frontend:home"
LOGOUT_REDIRECT_URL = "frontend:home"

# Internationalisation: French and English.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Email: console by default, SMTP from EMAIL_URL.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Bien Commun <contact@biencommun.example>")

# API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "members.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["members.permissions.IsAuthenticatedWithScope"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["common.filters.StrictFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "common.throttling.AnonThrottle",
        "common.throttling.SignedInRateThrottle",
        "common.throttling.ScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="300/min"),
        "user": env("THROTTLE_USER", default="1200/min"),
        "auth": env("THROTTLE_AUTH", default="10/min"),
        "pledge": env("THROTTLE_PLEDGE", default="60/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Bien Commun API",
    "DESCRIPTION": (
        "Crowdfunding and solidarity savings for digital social projects. "
        'Every error has the shape {"error": {"code", "message", "fields"}}. '
        "Authenticate with a session cookie or a personal token: `Authorization: Bearer bc_…`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "VoteStatusEnum": "fund.enums.PollStatus",
        "CampaignStatusEnum": "campaigns.enums.CampaignStatus",
        "PledgeStatusEnum": "campaigns.enums.PledgeStatus",
        "MilestoneStatusEnum": "campaigns.enums.MilestoneStatus",
        "CriterionStatusEnum": "campaigns.enums.CriterionStatus",
        "WebhookDeliveryStatusEnum": "campaigns.enums.WebhookDeliveryStatus",
        "RedemptionStatusEnum": "fund.money_enums.RedemptionStatus",
        "DonationStatusEnum": "fund.money_enums.DonationStatus",
        "DonationTargetEnum": "fund.money_enums.DonationTarget",
        "ReceiptKindEnum": "fund.money_enums.ReceiptKind",
        "MatchingRuleStatusEnum": "fund.money_enums.MatchingRuleStatus",
        "QFRoundStatusEnum": "fund.money_enums.QFRoundStatus",
        "InvestmentStatusEnum": "fund.money_enums.InvestmentStatus",
        "InvestmentKindEnum": "fund.money_enums.InvestmentKind",
        "FundPoolEnum": "fund.money_enums.FundPool",
        "PaymentStatusEnum": "payments.enums.PaymentStatus",
        "PaymentPurposeEnum": "payments.enums.PaymentPurpose",
        "PayoutMethodEnum": "payments.enums.PayoutMethod",
        "PollMethodEnum": "fund.enums.PollMethod",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.schema.add_error_responses",
    ],
    "AUTHENTICATION_WHITELIST": [
        "members.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

# Platform
PLATFORM_CURRENCY = env("PLATFORM_CURRENCY", default="EUR")
MEMBERSHIP_SHARE_PRICE = env.int(
    "MEMBERSHIP_SHARE_PRICE", default=5000
)  # minor units per cooperative share
MAX_PAYMENT_AMOUNT = env.int(
    "MAX_PAYMENT_AMOUNT", default=100_000_000
)  # 1,000,000.00 in minor units
PAYMENTS_PROVIDER = env("PAYMENTS_PROVIDER", default="sandbox")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")  # an emulator's address in tests
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
# Payments: the sandbox's simulated fee (1.5% + 0.25 by default) and its webhook secret (derived
# from SECRET_KEY when empty); attempts per provider call on network errors and 5xx, and the
# first backoff step; retries of the payments tasks; the reconciliation window.
SANDBOX_FEE_PERCENT_BASIS_POINTS = env.int("SANDBOX_FEE_PERCENT_BASIS_POINTS", default=150)
SANDBOX_FEE_FIXED = env.int("SANDBOX_FEE_FIXED", default=25)  # minor units
SANDBOX_WEBHOOK_SECRET = env("SANDBOX_WEBHOOK_SECRET", default="")
PAYMENTS_PROVIDER_ATTEMPTS = env.int("PAYMENTS_PROVIDER_ATTEMPTS", default=3)
PAYMENTS_PROVIDER_RETRY_BASE = env.float("PAYMENTS_PROVIDER_RETRY_BASE", default=0.25)  # seconds
PAYMENTS_TASK_MAX_RETRIES = env.int("PAYMENTS_TASK_MAX_RETRIES", default=8)
PAYMENTS_TASK_RETRY_BASE = env.int("PAYMENTS_TASK_RETRY_BASE", default=10)  # seconds
PAYMENTS_RECONCILE_DAYS = env.int("PAYMENTS_RECONCILE_DAYS", default=7)
PAYMENTS_CONNECT_COUNTRY = env("PAYMENTS_CONNECT_COUNTRY", default="FR")
# Prefix of the idempotency keys sent to the provider (derived from SECRET_KEY when empty).
PAYMENTS_IDEMPOTENCY_NAMESPACE = env("PAYMENTS_IDEMPOTENCY_NAMESPACE", default="")
# Test-only: a pause inside each disbursement send, so a test can kill a worker mid-batch.
PAYMENTS_DISBURSEMENT_SEND_DELAY = env.float("PAYMENTS_DISBURSEMENT_SEND_DELAY", default=0.0)
MEMBERSHIP_MAX_SHARES_PER_PURCHASE = env.int("MEMBERSHIP_MAX_SHARES_PER_PURCHASE", default=100)
OUTGOING_WEBHOOKS_ALLOW_PRIVATE = env.bool("OUTGOING_WEBHOOKS_ALLOW_PRIVATE", default=False)
OUTGOING_WEBHOOKS_MAX_ATTEMPTS = env.int("OUTGOING_WEBHOOKS_MAX_ATTEMPTS", default=8)
OUTGOING_WEBHOOKS_RETRY_BASE_SECONDS = env.int("OUTGOING_WEBHOOKS_RETRY_BASE_SECONDS", default=30)
OUTGOING_WEBHOOKS_RETRY_MAX_SECONDS = env.int(
    "OUTGOING_WEBHOOKS_RETRY_MAX_SECONDS", default=6 * 3600
)
OUTGOING_WEBHOOKS_TIMEOUT_SECONDS = env.int("OUTGOING_WEBHOOKS_TIMEOUT_SECONDS", default=5)
# Campaigns: duration, smallest pledge, the retry window of a failed charge, public caching.
CAMPAIGN_MIN_DAYS = env.int("CAMPAIGN_MIN_DAYS", default=1)
CAMPAIGN_MAX_DAYS = env.int("CAMPAIGN_MAX_DAYS", default=60)
CAMPAIGN_MIN_PLEDGE = env.int("CAMPAIGN_MIN_PLEDGE", default=100)  # minor units
CAMPAIGN_CHARGE_RETRY_WINDOW = timedelta(days=env.int("CAMPAIGN_CHARGE_RETRY_DAYS", default=7))
CAMPAIGN_CHARGE_RETRY_INTERVAL = timedelta(
    hours=env.int("CAMPAIGN_CHARGE_RETRY_INTERVAL_HOURS", default=48)
)
CAMPAIGN_CHARGE_MAX_ATTEMPTS = env.int("CAMPAIGN_CHARGE_MAX_ATTEMPTS", default=3)
CAMPAIGN_PUBLIC_CACHE_SECONDS = env.int("CAMPAIGN_PUBLIC_CACHE_SECONDS", default=5)
# Each process also holds the hottest public answers this long (common/microcache.py).
PUBLIC_MICROCACHE_SECONDS = env.float("PUBLIC_MICROCACHE_SECONDS", default=1.0)
# How long a web process gathers the items of a gathered task (pledge receipts) before it
# publishes them as one message (common.queue.enqueue_gathered_on_commit); 0 publishes each.
TASK_GATHER_SECONDS = env.float("TASK_GATHER_SECONDS", default=1.0)
CAMPAIGNS_SWEEP_GRACE = timedelta(seconds=env.int("CAMPAIGNS_SWEEP_GRACE_SECONDS", default=120))
# Funding rounds: the fewest projects a ballot approves (a round may ask for more), and an
# optional check, plugged in by the fund's money side, that the pools cover a round's budget.
FUND_ROUND_MIN_APPROVALS = env.int("FUND_ROUND_MIN_APPROVALS", default=1)
FUND_ROUND_BUDGET_CHECK = env("FUND_ROUND_BUDGET_CHECK", default="")
# The fund's money (docs/fund.md). Amounts in minor units, rates and shares in basis points.
FUND_SAVINGS_MIN_SUBSCRIPTION = env.int("FUND_SAVINGS_MIN_SUBSCRIPTION", default=1000)
FUND_SAVINGS_MAX_PER_MEMBER = env.int("FUND_SAVINGS_MAX_PER_MEMBER", default=0)  # 0: none
FUND_SAVINGS_REMUNERATION_CAP = env.int("FUND_SAVINGS_REMUNERATION_CAP", default=300)
FUND_SAVINGS_REMUNERATION_RATE = env.int("FUND_SAVINGS_REMUNERATION_RATE", default=100)
FUND_LIQUIDITY_RATIO = env.int("FUND_LIQUIDITY_RATIO", default=1500)  # λ of the savings pool
FUND_CAPITAL_FLOOR = env.int("FUND_CAPITAL_FLOOR", default=0)  # savings never paid below it
FUND_REDEMPTION_NOTICE_DAYS = env.int("FUND_REDEMPTION_NOTICE_DAYS", default=30)
FUND_IMPARTIBLE_RESERVE_SHARE = env.int("FUND_IMPARTIBLE_RESERVE_SHARE", default=5750)
FUND_LOSS_PROVISION_SHARE = env.int("FUND_LOSS_PROVISION_SHARE", default=1000)
FUND_LOAN_DEFAULT_RATE = env.int("FUND_LOAN_DEFAULT_RATE", default=100)
FUND_LOAN_DEFAULT_TERM_MONTHS = env.int("FUND_LOAN_DEFAULT_TERM_MONTHS", default=24)
FUND_LOAN_LATE_GRACE_DAYS = env.int("FUND_LOAN_LATE_GRACE_DAYS", default=15)
FUND_DONATION_MIN = env.int("FUND_DONATION_MIN", default=100)
FUND_MONEY_SWEEP_GRACE = timedelta(seconds=env.int("FUND_MONEY_SWEEP_GRACE_SECONDS", default=60))

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Payment purposes and the app that settles each (see docs/architecture.md, "Payments").
PAYMENT_PURPOSE_HANDLERS: dict[str, str] = {
    "share": "members.payment_handlers.SharePurchaseHandler",
    "pledge": "campaigns.payment_handlers.PledgePaymentHandler",
    "savings": "fund.payment_handlers.SavingsSubscriptionHandler",
    "donation": "fund.payment_handlers.DonationHandler",
}

# Payouts: when a disbursement moves, the app that asked for it is told through its task
# (reference type → dotted path of a Celery task taking the reference id).
DISBURSEMENT_REFERENCE_TASKS: dict[str, str] = {
    "milestone": "campaigns.tasks.milestone_sync",
    "redemption": "fund.money_tasks.redemption_sync",
    "investment": "fund.money_tasks.investment_sync",
}

# Who owns a ledger account, as the public sees it: owner type → dotted path of a function
# taking a list of owner ids and returning {id: label} (batched). Members show their public name.
LEDGER_OWNER_LABELS: dict[str, str] = {
    "member": "members.selectors.ledger_owner_labels",
    "campaign": "campaigns.selectors.ledger_owner_labels",
}

# Each app's part of a person's data export (GDPR), called in this order.
DATA_EXPORT_SECTIONS = [
    "members.exports.profile_section",
    "campaigns.exports.pledges_section",
    "fund.exports.governance_section",
    "fund.money_exports.money_section",
    "payments.exports.payments_section",
]

# Demo data, seeded in this order by `manage.py seed_demo`; each step builds on the previous ones.
DEMO_SEEDERS = [
    "members.demo.seed",
    "payments.demo.seed",
    "campaigns.demo.seed",
    "fund.demo.seed_governance",
    "fund.money_demo.seed_money",  # funds the governance round's winners, so after it
    "ledger.demo.seed",  # last: seals what the others posted, then checks the balances
]
