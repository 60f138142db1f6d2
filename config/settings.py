"""Fenghuo settings: one module, configured by environment variables.

The defaults give the embedded start: SQLite and a Celery broker on the file system,
both under ``FENGHUO_DATA_DIR`` (``./var`` by default). Production sets ``DATABASE_URL``,
``CELERY_BROKER_URL``, ``SECRET_KEY`` and ``DEBUG=false``.
"""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_float, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("FENGHUO_DATA_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", True)
_INSECURE_DEV_KEY = "django-insecure-fenghuo-development-only"
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_DEV_KEY if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Only behind a proxy that sets it may X-Forwarded-For be trusted for the audit's client IP.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "core",
    "organisation",
    "plans",
    "incidents",
    "deadlines",
    "notifications",
    "engine",
    "response",
    "monitoring",
    "config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # 503 for errors of the machine, 413 for bodies over the limit (core.outages, core.limits).
    "core.middleware.MachineErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:
    # runserver serves static files in development; whitenoise does it in production.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "engine.context_processors.engine_status",
            ],
            "builtins": ["core.templatetags.web"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'fenghuo.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue instead of failing half-way through.
    # A web request waits this long for another writer's lock, then answers 503 with
    # Retry-After (core.outages); workers wait longer (config.celery), nobody waits for them.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_float("FENGHUO_SQLITE_BUSY_TIMEOUT", 5.0),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# Seconds a worker waits for the SQLite write lock before its task fails (beat runs it again).
FENGHUO_SQLITE_WORKER_BUSY_TIMEOUT = env_float("FENGHUO_SQLITE_WORKER_BUSY_TIMEOUT", 20.0)
# What a 503 (database locked or unreachable, broker down, disk full) asks clients to wait.
FENGHUO_RETRY_AFTER = env_int("FENGHUO_RETRY_AFTER", 10)
# The largest request body outside uploaded files (forms, JSON), for every view but those
# that document more (the post intake computes its own from its documented maxima). 4 MB
# holds the largest documented text, a 300,000-character term list, as a form (9 bytes a
# character percent-encoded) or as JSON (6 bytes escaped).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("FENGHUO_BODY_MAX_BYTES", 4 * 1024 * 1024)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "organisation.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:board"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", DATA_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env_path("MEDIA_ROOT", DATA_DIR / "media")
MEDIA_URL = "media/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # JSON read up to the view's body limit and refused when nested too deep (core.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {"token": env_str("API_TOKEN_RATE", "30/minute")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fenghuo API",
    "DESCRIPTION": "Public-opinion emergency response: incidents, plans and deadlines.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "state"; each set of choices gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "IncidentStateEnum": "incidents.choices.State",
        "DocumentStateEnum": "response.models.DocumentState",
        "ProposalStateEnum": "monitoring.models.Proposal.State",
        "TaskStateEnum": "response.models.Task.State",
        # The handling category, also as a post's "sensitive_category".
        "CategoryEnum": "plans.categories.Category",
        "FindingKindEnum": "incidents.models.Finding.Kind",
    },
}

# Celery. The embedded default is kombu's file-system transport: no server to run.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
_BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        # The worker looks for new messages ten times a second (kombu's default: once),
        # so the deadline sweep's wake-ups (engine.wakeup) are not a second late.
        "polling_interval": 0.1,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
        # A web request that nudges delivery must not hang on a broker that is down:
        # the beat-driven sweep and delivery are what guarantee the work, not the nudge.
        "max_retries": 0,
    }
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# How often beat runs the deadline sweep (seconds), whatever else happens: what guarantees
# the engine's work. Between its rounds each sweep sends a wake-up for the next moment a
# deadline is owed something (engine.wakeup), which makes alerts punctual. The beat
# schedule lives here, in one place.
FENGHUO_SWEEP_INTERVAL = env_float("FENGHUO_SWEEP_INTERVAL", 5.0)
# How often beat looks for feeds due for a poll and for imports nobody runs (seconds).
FENGHUO_FEED_POLL_INTERVAL = env_float("FENGHUO_FEED_POLL_INTERVAL", 60.0)
# The largest CSV or Excel file that may be uploaded for import (bytes).
FENGHUO_IMPORT_MAX_BYTES = env_int("FENGHUO_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
# The largest evidence file attached to a task (bytes); its type is checked by content.
FENGHUO_EVIDENCE_MAX_BYTES = env_int("FENGHUO_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)
# Behind nginx: the internal location that serves MEDIA_ROOT (e.g. /protected-media/);
# the evidence download then answers X-Accel-Redirect instead of streaming the file.
FENGHUO_EVIDENCE_X_ACCEL_PREFIX = env_str("FENGHUO_EVIDENCE_X_ACCEL_PREFIX", "")
# /healthz reports the engine stale when its last sweep is older than this (seconds).
FENGHUO_ENGINE_STALE_AFTER = env_float("FENGHUO_ENGINE_STALE_AFTER", 60.0)
# The duty board shows at most this many cards, nearest deadline first; counts and
# filters reach the rest.
FENGHUO_BOARD_CARDS = max(env_int("FENGHUO_BOARD_CARDS", 50), 1)
# Monitoring. Posts are near-duplicates within this many SimHash bits (at most 3: the
# look-up finds candidates by four 16-bit bands), looked for this many days around them.
FENGHUO_NEAR_DUPLICATE_BITS = min(env_int("FENGHUO_NEAR_DUPLICATE_BITS", 3), 3)
FENGHUO_NEAR_DUPLICATE_DAYS = env_int("FENGHUO_NEAR_DUPLICATE_DAYS", 7)
# A matching post joins a topic of its rule active within this many hours of it, when
# the cosine similarity of its words to the topic's reaches this.
FENGHUO_TOPIC_WINDOW_HOURS = env_int("FENGHUO_TOPIC_WINDOW_HOURS", 48)
FENGHUO_TOPIC_SIMILARITY = env_float("FENGHUO_TOPIC_SIMILARITY", 0.3)
# A new or changed watch rule is matched against the posts of this many days back.
FENGHUO_RULE_BACKFILL_DAYS = env_int("FENGHUO_RULE_BACKFILL_DAYS", 7)
CELERY_BEAT_SCHEDULE = {
    "deadline-sweep": {
        "task": "engine.sweep",
        "schedule": FENGHUO_SWEEP_INTERVAL,
        "options": {"expires": FENGHUO_SWEEP_INTERVAL * 2},
    },
    "notification-delivery": {
        "task": "notifications.deliver",
        "schedule": FENGHUO_SWEEP_INTERVAL,
        "options": {"expires": FENGHUO_SWEEP_INTERVAL * 2},
    },
    # Stored posts whose grouping and matching did not happen (their process died).
    "post-completion": {
        "task": "monitoring.complete_pending_posts",
        "schedule": FENGHUO_SWEEP_INTERVAL,
        "options": {"expires": FENGHUO_SWEEP_INTERVAL * 2},
    },
    # Topic figures, alerts and proposals after intake.
    "topic-refresh": {
        "task": "monitoring.refresh_topics",
        "schedule": FENGHUO_SWEEP_INTERVAL,
        "options": {"expires": FENGHUO_SWEEP_INTERVAL * 2},
    },
    # Feeds due for a poll, and imports whose message was lost or whose worker died.
    "feed-polling": {
        "task": "monitoring.poll_feeds",
        "schedule": FENGHUO_FEED_POLL_INTERVAL,
        "options": {"expires": FENGHUO_FEED_POLL_INTERVAL * 2},
    },
    "pending-imports": {
        "task": "monitoring.run_pending_imports",
        "schedule": FENGHUO_FEED_POLL_INTERVAL,
        "options": {"expires": FENGHUO_FEED_POLL_INTERVAL * 2},
    },
}
# Delivery of email and webhook notifications: attempts, and the first retry's delay
# (doubling after each failure, capped at FENGHUO_DELIVERY_MAX_DELAY seconds).
FENGHUO_DELIVERY_MAX_ATTEMPTS = env_int("FENGHUO_DELIVERY_MAX_ATTEMPTS", 8)
FENGHUO_DELIVERY_FIRST_DELAY = env_float("FENGHUO_DELIVERY_FIRST_DELAY", 10.0)
FENGHUO_DELIVERY_MAX_DELAY = env_float("FENGHUO_DELIVERY_MAX_DELAY", 1800.0)
FENGHUO_WEBHOOK_TIMEOUT = env_float("FENGHUO_WEBHOOK_TIMEOUT", 10.0)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "fenghuo@localhost")
# The window of believable moments for times people and crawlers send (published and
# discovery times): none before this date (Beijing time unless TIME_ZONE says otherwise),
# none later than this many hours ahead of now. Outside it an item is refused on its own.
FENGHUO_EARLIEST_DATE = env_str("FENGHUO_EARLIEST_DATE", "2000-01-01")
FENGHUO_FUTURE_TOLERANCE_HOURS = env_float("FENGHUO_FUTURE_TOLERANCE_HOURS", 24.0)
# Where people reach Fenghuo, for links in email and group-robot messages.
FENGHUO_BASE_URL = env_str("FENGHUO_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
