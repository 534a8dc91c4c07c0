"""Settings shared by every environment; each value can be set from the environment."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config import tasks

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"  # local state: SQLite file, model artifacts, exports
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env(
    "DJANGO_SECRET_KEY", default="insecure-local-only-change-me-0123456789abcdefghijklmnop"
)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "config.apps.ApiTokensConfig",  # django-rest-knox: hashed, expiring API tokens
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "surveys",
    "classifier",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "surveys.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default (WAL so the web process and a worker can share it); DATABASE_URL for PostgreSQL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'exposure.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# An optional read replica (a streaming standby of the primary): statistics and export reads go
# there (surveys/core/databases.py); writes and everything else stay on "default".
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing directory
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("EXPOSURE_MEDIA_ROOT", default=VAR_DIR / "media")

# Redis (when configured) serves the cache, the Celery broker and rate-limit counters.
REDIS_URL = env("REDIS_URL", default="")
# A Redis that accepts connections but never answers (hung, swapping, a half-open connection)
# costs a cache call one second, not redis-py's default wait: every caller of the cache (rate
# limits, throttles) then goes on without it.
REDIS_CACHE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "exposure",
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live in the database, so signing out (or an administrator deleting the row) ends a
# session for good: a signed cookie stays valid until it expires, whoever copied it. Not the
# cache-backed store: the respondent's submit stores its receipt in the session, and a cache
# outage must not fail it.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Celery. With no broker configured, tasks run eagerly in the calling process.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis re-delivers an unacknowledged task after the visibility timeout:
# every time limit stays below it.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # Without socket timeouts a publish to a broker that vanished without closing the TCP
    # connection, or that accepts connections and never answers, waits forever, and with it the
    # respondent's submit (kombu's own advice). The workers' BRPOP runs in kombu's event loop,
    # where no socket timeout applies (kombu checks that connection's health itself).
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
}
# A publish that cannot reach the broker gives up quickly (0.2 s when the port is closed, about
# 2 s when the host does not answer or Redis hangs: two attempts of at most 1 s): the row is
# already in the database and the sweep queues it later, so a long retry would only delay the
# respondent. The one retry reconnects a pooled connection that a Redis restart closed.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=900)
# The soft limit stays below the hard one also when a short hard limit is configured.
CELERY_TASK_SOFT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT - 60, CELERY_TASK_TIME_LIMIT * 4 // 5)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["surveys.api.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("API_USER_THROTTLE", default="1000/hour"),
        "anon": env("API_ANON_THROTTLE", default="200/hour"),  # public statistics
        # requests to the token endpoint per address, signed in or not; password guesses are
        # limited apart from it, with the admin login (EXPOSURE_LOGIN_LIMIT_*)
        "token": env("API_TOKEN_THROTTLE", default="30/hour"),
    },
}
# API tokens (django-rest-knox): stored as SHA-512 digests, valid this many hours after they are
# issued; clients rotate them (POST /api/v1/auth/token/rotate/) before they expire.
EXPOSURE_API_TOKEN_TTL_HOURS = env.int("EXPOSURE_API_TOKEN_TTL_HOURS", default=72)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=EXPOSURE_API_TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,  # a token in use still expires: rotation is explicit
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exposure API",
    "DESCRIPTION": "Aggregate statistics and research data of Exposure surveys.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from drf-spectacular-sidecar, served from our origin (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Exposure's own settings.
EXPOSURE_RESUME_DAYS = env.int("EXPOSURE_RESUME_DAYS", default=30)
# Delete unsubmitted responses once their resume link has expired (beat, hourly; responses_purge).
EXPOSURE_PURGE_UNSUBMITTED = env.bool("EXPOSURE_PURGE_UNSUBMITTED", default=True)
# Respondent rate limits, as requests/seconds. Starting a response counts per client address, with
# room for a lecture hall or an office behind one address; the pages of a response count per
# resume token, so people sharing an address never stop each other; withdrawal per address.
EXPOSURE_RATE_LIMIT = env("EXPOSURE_RATE_LIMIT", default="120/600")
EXPOSURE_RATE_LIMIT_START = env("EXPOSURE_RATE_LIMIT_START", default="300/600")
EXPOSURE_RATE_LIMIT_PAGE = env("EXPOSURE_RATE_LIMIT_PAGE", default="60/600")
# Sign-in attempts (admin login and API token alike, right or wrong) per client address and per
# username tried, as attempts/seconds; past either, even the right password is refused.
EXPOSURE_LOGIN_LIMIT_ADDRESS = env("EXPOSURE_LOGIN_LIMIT_ADDRESS", default="30/900")
EXPOSURE_LOGIN_LIMIT_USERNAME = env("EXPOSURE_LOGIN_LIMIT_USERNAME", default="10/900")
# The period statistics windows snap to for callers without raw access: week, month or quarter.
EXPOSURE_STATISTICS_PERIOD = env.str("EXPOSURE_STATISTICS_PERIOD", default="month")
if EXPOSURE_STATISTICS_PERIOD not in {"week", "month", "quarter"}:
    raise ImproperlyConfigured("EXPOSURE_STATISTICS_PERIOD must be week, month or quarter.")
# Computed statistics tables (API, public results page) are kept this long in the cache, keyed
# by the survey's data version, which every write that changes them moves on; 0 turns it off.
EXPOSURE_STATISTICS_CACHE_SECONDS = env.int("EXPOSURE_STATISTICS_CACHE_SECONDS", default=300)
# Each process keeps the analytics store's columns its counts use in memory (numpy arrays, about
# 4 bytes a response a column), brought up to date by the rows changed since, and counts there
# instead of in the database; at most this many MB a process, 0 turns it off.
EXPOSURE_ANALYTICS_MEMORY_MB = env.int("EXPOSURE_ANALYTICS_MEMORY_MB", default=256)
# A process reads a published survey (and its data version) for its public results page at
# most this often: unpublishing, and new figures, reach every reader within this many seconds;
# 0 reads it on every request.
EXPOSURE_RESULTS_RECHECK_SECONDS = env.float("EXPOSURE_RESULTS_RECHECK_SECONDS", default=1.0)
EXPOSURE_MODEL_DIR = env.path("EXPOSURE_MODEL_DIR", default=VAR_DIR / "models")
EXPOSURE_CLASSIFY_BATCH = env.int("EXPOSURE_CLASSIFY_BATCH", default=200)

# Every handler drops resume links, invitations and receipt codes from what it writes (the
# filter also rewrites records made for handlers configured elsewhere: Celery's, gunicorn's).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "surveys.core.logredact.RedactCredentials"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
EXPOSURE_TRUSTED_PROXIES = env.int("EXPOSURE_TRUSTED_PROXIES", default=0)
# DRF throttles identify clients the same way: with None it would trust any X-Forwarded-For.
REST_FRAMEWORK["NUM_PROXIES"] = EXPOSURE_TRUSTED_PROXIES
CSRF_FAILURE_VIEW = "surveys.respondent.views.csrf_failure"

# --- classifier -------------------------------------------------------------------------------
# Seed corpora: <EXPOSURE_SEED_DIR>/<codebook slug>/*.csv (text,label or text,labels columns).
EXPOSURE_SEED_DIR = env.path("EXPOSURE_SEED_DIR", default=BASE_DIR / "classifier" / "data")
# A seed file with more texts is trained on a stratified sample of this many (0: all of them):
# the task-exposure corpus (about 10,000 task statements) takes minutes in full, seconds at 3,000.
EXPOSURE_SEED_MAX_TEXTS = env.int("EXPOSURE_SEED_MAX_TEXTS", default=3000)
# A text whose prediction keeps failing is marked failed for good after this many attempts.
EXPOSURE_CLASSIFY_MAX_ATTEMPTS = env.int("EXPOSURE_CLASSIFY_MAX_ATTEMPTS", default=3)
# Pending rows older than this were lost on the way to the broker; the sweep re-queues them.
EXPOSURE_CLASSIFY_PENDING_GRACE = env.int("EXPOSURE_CLASSIFY_PENDING_GRACE", default=60)
# A running claim older than the hard time limit belongs to a worker that died.
EXPOSURE_CLASSIFY_STALE_SECONDS = env.int(
    "EXPOSURE_CLASSIFY_STALE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60
)
# How often beat runs the sweep; the time to recover lost work is about grace + this interval.
EXPOSURE_CLASSIFY_SWEEP_SECONDS = env.int("EXPOSURE_CLASSIFY_SWEEP_SECONDS", default=60)
# The audit sample per survey and codebook: this share of answers, and at least this many, go to
# coders blind to the model's label; until that many are coded, model labels are provisional.
EXPOSURE_AUDIT_SHARE = env.float("EXPOSURE_AUDIT_SHARE", default=0.05)
EXPOSURE_AUDIT_MIN = env.int("EXPOSURE_AUDIT_MIN", default=100)
# Each human code of a survey's answers counts this many times in training (the seed corpus once).
EXPOSURE_TRAIN_SURVEY_WEIGHT = env.int("EXPOSURE_TRAIN_SURVEY_WEIGHT", default=3)
EXPOSURE_QUEUE_DEFAULT = "default"
# Retraining shares the default queue; point it elsewhere when training gets its own worker.
EXPOSURE_QUEUE_TRAINING = "default"
CELERY_TASK_ROUTES = {
    tasks.CLASSIFY_BATCH: {"queue": EXPOSURE_QUEUE_DEFAULT},
    tasks.CLASSIFIER_SWEEP: {"queue": EXPOSURE_QUEUE_DEFAULT},
    tasks.RETRAIN: {"queue": EXPOSURE_QUEUE_TRAINING},
    tasks.RECLASSIFY_ALL: {"queue": EXPOSURE_QUEUE_TRAINING},
    tasks.RESPONSES_PURGE: {"queue": EXPOSURE_QUEUE_DEFAULT},
}
CELERY_BEAT_SCHEDULE = {
    "classifier-sweep": {
        "task": tasks.CLASSIFIER_SWEEP,
        "schedule": float(EXPOSURE_CLASSIFY_SWEEP_SECONDS),
        # A sweep that waited longer than its interval is superseded by the next one.
        "options": {"expires": max(1, EXPOSURE_CLASSIFY_SWEEP_SECONDS * 11 // 12)},
    },
    # Unsubmitted responses whose resume link expired (a no-op with EXPOSURE_PURGE_UNSUBMITTED off).
    "responses-purge": {
        "task": tasks.RESPONSES_PURGE,
        "schedule": 3600.0,
        "options": {"expires": 3300},
    },
}
# --- end classifier ---------------------------------------------------------------------------

# --- exports ----------------------------------------------------------------------------------
# Export files are written here (never served by the web server directly: downloads go through
# the permission-checking view) and deleted by the sweep EXPORT_EXPIRY_HOURS after they are done.
EXPORT_DIR = Path(str(env.path("EXPOSURE_EXPORT_DIR", default=Path(str(MEDIA_ROOT)) / "exports")))
EXPORT_EXPIRY_HOURS = env.int("EXPOSURE_EXPORT_EXPIRY_HOURS", default=72)
# Long exports run on their own queue so they never hold up classification; a worker started
# with `-Q default,exports` serves both, `-Q exports` only exports.
EXPORT_QUEUE = env("EXPOSURE_EXPORT_QUEUE", default="exports")
# Below the broker's visibility timeout, or Redis would hand a long export to a second worker.
EXPORT_TIME_LIMIT = env.int(
    "EXPOSURE_EXPORT_TIME_LIMIT",
    default=min(
        max(CELERY_BROKER_VISIBILITY_TIMEOUT - 300, 120), CELERY_BROKER_VISIBILITY_TIMEOUT - 30
    ),
)
# A running claim older than this belongs to a worker that died; the sweep re-queues the job.
EXPORT_STALE_SECONDS = EXPORT_TIME_LIMIT + 60
# A pending job older than this was lost on the way to the broker; the sweep sends it again.
EXPORT_PENDING_GRACE = env.int("EXPOSURE_EXPORT_PENDING_GRACE", default=120)
EXPORT_MAX_ATTEMPTS = env.int("EXPOSURE_EXPORT_MAX_ATTEMPTS", default=3)
# Export jobs one user may have pending or running at once (each SAV/DTA holds a whole file in
# a worker's memory); an identical request while one is unfinished returns that job.
EXPORT_MAX_PENDING = env.int("EXPOSURE_EXPORT_MAX_PENDING", default=3)
EXPORT_PROGRESS_EVERY = env.int("EXPOSURE_EXPORT_PROGRESS_EVERY", default=1000)  # rows
# Larger CSV downloads than this are refused in the browser: request a background export.
EXPORT_STREAM_MAX_ROWS = env.int("EXPOSURE_EXPORT_STREAM_MAX_ROWS", default=50_000)
CELERY_TASK_ROUTES.update(
    {
        tasks.EXPORT_RUN: {"queue": EXPORT_QUEUE},
        tasks.EXPORTS_SWEEP: {"queue": EXPORT_QUEUE},
        # A rebuild reads every answer of a survey: a long database job, like an export.
        tasks.ANALYTICS_REBUILD: {"queue": EXPORT_QUEUE},
        tasks.ANALYTICS_SWEEP: {"queue": EXPORT_QUEUE},
    }
)
CELERY_BEAT_SCHEDULE["exports-sweep"] = {
    "task": tasks.EXPORTS_SWEEP,
    "schedule": 300.0,
    "options": {"expires": 290},
}
# An analytics store stale for longer than this lost its rebuild (published while the broker was
# down, or its worker died); the sweep queues the rebuild again. A rebuild in progress holds the
# store's row and is never queued twice; this only bounds how long a queued one may wait behind
# the exports on its queue, hence the export time limit (a repeated rebuild finds the store
# fresh and does nothing, so a shorter grace only costs such no-op deliveries).
ANALYTICS_STALE_GRACE = env.int("EXPOSURE_ANALYTICS_STALE_GRACE", default=EXPORT_TIME_LIMIT + 60)
CELERY_BEAT_SCHEDULE["analytics-sweep"] = {
    "task": tasks.ANALYTICS_SWEEP,
    "schedule": 300.0,
    "options": {"expires": 290},
}
# --- end exports ------------------------------------------------------------------------------
