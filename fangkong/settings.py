"""One environment-driven settings module.

Everything a deployment changes comes from environment variables; secrets that are
absent are generated once into the local data directory (never committed), so a fresh
clone runs with no configuration and a production host sets them explicitly.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import dj_database_url
from django.contrib.messages import constants as message_levels
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("FANGKONG_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def _secret_from_env_or_file(env_name: str, file_name: str, make: str) -> str:
    """Return the secret from the environment, else from DATA_DIR, else generate it there."""
    value = os.environ.get(env_name)
    if value:
        return value
    path = DATA_DIR / file_name
    if path.exists():
        return path.read_text().strip()
    value = (
        secrets.token_urlsafe(64)
        if make == "token"
        else base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
    # Created with 0600 so another local user cannot read the key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


PRODUCTION = env_bool("FANGKONG_PRODUCTION")
DEBUG = env_bool("FANGKONG_DEBUG", default=False)
SECRET_KEY = _secret_from_env_or_file("FANGKONG_SECRET_KEY", "secret_key", "token")
# 32 raw bytes, URL-safe base64; AES-256-GCM for personal data, HKDF-derived HMAC key.
FIELD_ENCRYPTION_KEY = _secret_from_env_or_file(
    "FANGKONG_ENCRYPTION_KEY", "encryption_key", "aes256"
)

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("FANGKONG_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("FANGKONG_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "fangkong.core",
    "fangkong.accounts",
    "fangkong.audit",
    "fangkong.org",
    "fangkong.people",
    "fangkong.workorders",
    "fangkong.notify",
    "fangkong.policy",
    "fangkong.screening",
    "fangkong.control",
    "fangkong.testing",
    "fangkong.vaccination",
    "fangkong.places",
    "fangkong.checkpoints",
    "fangkong.zones",
    "fangkong.assist",
    "fangkong.response",
    "fangkong.tracing",
    "fangkong.reports",
    "fangkong.retention",
    "fangkong.demo",
]

# Background jobs: django-tasks with its database backend (no broker for a town); the
# `fangkong jobs` command runs the scheduler and the worker.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

MIDDLEWARE = [
    # /healthz first: a load balancer's probe skips the HTTPS redirect, the host check,
    # sessions and authentication (core/health.py).
    "fangkong.core.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and fragments gzip-compressed; static files come compressed from WhiteNoise.
    "fangkong.core.middleware.CompressPagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fangkong.core.middleware.DefaultLanguageMiddleware",
    # After the language is chosen (its message is translated), before anything reads
    # the request's text.
    "fangkong.core.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fangkong.org.middleware.ApiCallMiddleware",
    "fangkong.accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "fangkong.core.middleware.SecurityHeadersMiddleware",
]

# Bootstrap names the red alert "danger"; Django's "error" tag had no style at all.
MESSAGE_TAGS = {message_levels.ERROR: "danger"}

ROOT_URLCONF = "fangkong.urls"
WSGI_APPLICATION = "fangkong.wsgi.application"

# Each process keeps what it rendered for the menu and the task lists (core/memo.py):
# keys are digests of what a fragment shows, so nothing is shared that could go stale
# and no cache server is needed. ~2,000 entries of ~15 KB at most per process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 2000},
    }
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "fangkong" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "fangkong.org.context_processors.shell",
                "fangkong.notify.context_processors.inbox",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'fangkong.sqlite3'}"),
        # Persistent connections in production: `fangkong serve` sets 600 s (a worker
        # process reuses its connection); runserver's thread per request would leak them.
        # The health check makes a reused connection the database dropped reconnect
        # instead of failing the request.
        conn_max_age=env_int("FANGKONG_DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails a request (and /healthz) in seconds, not
    # after the kernel's TCP timeout of minutes.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "FANGKONG_DB_CONNECT_TIMEOUT", 5
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo server read while a command writes; the busy timeout rides
    # out short write locks instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
# A read replica for reports (docs/deploy.md, core/replica.py): the same settings as the
# primary's, another address; read-only views ask for it, everything else stays on the
# primary. Its test database mirrors the primary's (the same data under another alias).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=env_int("FANGKONG_DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
    DATABASES["replica"]["OPTIONS"] = dict(DATABASES["default"].get("OPTIONS", {}))
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["fangkong.core.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["fangkong.accounts.backends.UsernameOrPhoneBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Lockout: this many failures within the window lock the account (whichever way its
# name or phone is typed) for the window; a looser limit counts failures from one client
# address across all accounts, against guessing one password at many accounts.
LOGIN_MAX_FAILURES = env_int("FANGKONG_LOGIN_MAX_FAILURES", 5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("FANGKONG_LOGIN_MAX_FAILURES_PER_ADDRESS", 30)
LOGIN_LOCKOUT_SECONDS = env_int("FANGKONG_LOGIN_LOCKOUT_SECONDS", 15 * 60)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("zh-hant", _("繁體中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "fangkong" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "fangkong" / "static"]
STATIC_ROOT = Path(os.environ.get("FANGKONG_STATIC_ROOT", DATA_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Phones on 3G (docs/adr/0012): `collectstatic` writes every file under a content-hashed
# name with a gzip copy beside it, and WhiteNoise serves those names compressed and
# cacheable for ten years ("immutable"), in the demo as in production. Only with
# FANGKONG_DEBUG are the sources served as they are edited (unhashed, from the finders).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# Security. Cookies are always HttpOnly/SameSite; "secure" needs HTTPS, so it follows
# FANGKONG_PRODUCTION (the demo is served over plain http on 127.0.0.1).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("FANGKONG_SESSION_SECONDS", 12 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("FANGKONG_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("FANGKONG_HSTS_SECONDS", 31536000) if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
if env_bool("FANGKONG_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Uploads: spreadsheets are bounded so a bad file cannot exhaust memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The same limits hold on every import path (core.uploads); they are checked while the
# file is read, so a hostile file is refused before it is held in memory.
FANGKONG_MAX_UPLOAD_BYTES = env_int("FANGKONG_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
FANGKONG_MAX_IMPORT_ROWS = env_int("FANGKONG_MAX_IMPORT_ROWS", 200_000)
FANGKONG_MAX_IMPORT_COLUMNS = env_int("FANGKONG_MAX_IMPORT_COLUMNS", 200)
# An address or a remark is never longer; a longer cell is an error naming its row/column.
FANGKONG_MAX_CELL_CHARS = env_int("FANGKONG_MAX_CELL_CHARS", 2000)
# An xlsx is a zip: 20 MB of it can unpack to gigabytes of XML.
FANGKONG_MAX_UNPACKED_BYTES = env_int("FANGKONG_MAX_UNPACKED_BYTES", 512 * 1024 * 1024)
# What an import's preview shows of the file itself.
FANGKONG_PREVIEW_ROWS = env_int("FANGKONG_PREVIEW_ROWS", 50)
FANGKONG_PREVIEW_COLUMNS = env_int("FANGKONG_PREVIEW_COLUMNS", 30)
FANGKONG_PREVIEW_CELL_CHARS = env_int("FANGKONG_PREVIEW_CELL_CHARS", 60)
# Uploads waiting between preview and commit are purged by the `core.purge_uploads` job.
FANGKONG_UPLOAD_KEEP_HOURS = env_int("FANGKONG_UPLOAD_KEEP_HOURS", 24)

# The file channel's default log of outgoing messages (the demo's "sent" messages).
FANGKONG_NOTIFY_FILE = Path(os.environ.get("FANGKONG_NOTIFY_FILE", DATA_DIR / "notify.log"))
# Webhooks and SMS gateways must resolve to public addresses; these hosts (names,
# addresses or networks such as 10.8.0.0/16) are the installation's own gateways on the
# intranet, which channels may post to all the same.
FANGKONG_NOTIFY_INTERNAL_HOSTS = [
    h.strip() for h in os.environ.get("FANGKONG_NOTIFY_INTERNAL_HOSTS", "").split(",") if h.strip()
]

# A `fangkong jobs` worker on another host not heard from for this long is taken for
# dead, and the tasks it was running are queued again or failed (core.workers).
FANGKONG_WORKER_STALE_SECONDS = env_int("FANGKONG_WORKER_STALE_SECONDS", 300)
# /healthz fails when the oldest task ready to run waited longer than this, or the data
# directory's disk has less free space than this (core/health.py).
FANGKONG_HEALTH_QUEUE_LAG_SECONDS = env_int("FANGKONG_HEALTH_QUEUE_LAG_SECONDS", 300)
FANGKONG_HEALTH_MIN_FREE_MB = env_int("FANGKONG_HEALTH_MIN_FREE_MB", 1024)

NINJA_PAGINATION_PER_PAGE = 50
# Calls per API key per fixed window (org.clients); past it, 429 with Retry-After.
FANGKONG_API_KEY_RATE = env_int("FANGKONG_API_KEY_RATE", 600)
FANGKONG_API_KEY_WINDOW_SECONDS = env_int("FANGKONG_API_KEY_WINDOW_SECONDS", 60)
# How long an Idempotency-Key's answer is kept for replay (swept hourly).
FANGKONG_IDEMPOTENCY_KEEP_HOURS = env_int("FANGKONG_IDEMPOTENCY_KEEP_HOURS", 24)
# How long a claimed Idempotency-Key may stay in flight: a claim older than this belongs
# to a request that died (its process crashed or was killed) and the next retry takes it
# over at once instead of answering 409. Longer than any write runs: the proxy gives up
# on a request after 65 s and the web server replaces a stuck worker after 60 s
# (FANGKONG_WEB_TIMEOUT).
FANGKONG_IDEMPOTENCY_IN_FLIGHT_SECONDS = env_int("FANGKONG_IDEMPOTENCY_IN_FLIGHT_SECONDS", 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_pii": {"()": "fangkong.core.logging.RedactPersonalDataFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_pii"],
        },
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(DATA_DIR / "fangkong.log"),
            "maxBytes": 10 * 1024 * 1024,
            "backupCount": 5,
            "formatter": "plain",
            "filters": ["redact_pii"],
            "encoding": "utf-8",
        },
    },
    "root": {
        "handlers": ["console", "file"],
        "level": os.environ.get("FANGKONG_LOG_LEVEL", "INFO"),
    },
}
