"""Settings for Console, read from the environment (and an optional `.env` file).

Every default is safe for production: `DEBUG` is off and `SECRET_KEY` must be set.
Development mode (`DEBUG=true`, which `make run` and the tests set) relaxes what local HTTP
needs: a development key, no HTTPS redirect, cookies without the Secure flag.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _env_str(name: str, default: str = "") -> str:
    """An environment value where an empty string counts as unset."""
    return env.str(name, default="") or default


DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = _env_str("SECRET_KEY", "insecure-development-key-do-not-use-in-production")
else:
    SECRET_KEY = _env_str("SECRET_KEY")
    if not SECRET_KEY:
        raise ImproperlyConfigured("Set SECRET_KEY: it is required when DEBUG is off.")

# Key for hashing stored secrets (API keys, invite links). Changing it invalidates them all,
# so it is separate from SECRET_KEY, which can then be rotated on its own.
SECRET_HASH_KEY = _env_str("SECRET_HASH_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "accounts",
    "workspaces",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before any view or middleware looks an address's parts or a form's fields up.
    "console.middleware.RefuseUnsafeInputMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "console.middleware.NotFoundPageMiddleware",
    # Below it, so a workspace of another of the viewer's organizations is offered first.
    "workspaces.middleware.OtherOrganizationMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Production serves its collected static files itself; runserver does it in development.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"
ASGI_APPLICATION = "console.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context_processors.events",
                "console.context_processors.htmx_partial",
                "workspaces.context_processors.console",
            ],
        },
    },
]

_database_url = _env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": env.db_url_config(_database_url)}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = _env_str("REDIS_URL")
# REDIS_URL names one node of a Redis Cluster (the limiter's counters only).
REDIS_CLUSTER = env.bool("REDIS_CLUSTER", default=False)
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out account or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (accounts/throttling.py): failures counted per account and per client
# address; either reaching the limit pauses sign-in for the cool-off, counted from the last
# failure. A successful sign-in clears the count.
AXES_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SIGN_IN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.throttling.account_name"
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.throttling.lockout_response"
AXES_VERBOSE = False
# How many proxies in front of Console append to X-Forwarded-For (0: use the socket address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

LANGUAGE_CODE = "en-us"
TIME_ZONE = _env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# E-mail: EMAIL_URL such as smtp+tls://user:password@smtp.example.com:587; printed to the
# console when unset.
_email = env.email_url_config(_env_str("EMAIL_URL", "consolemail://"))
_smtp_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS", False),
    "use_ssl": _email.get("EMAIL_USE_SSL", False),
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {k: v for k, v in _smtp_options.items() if v}
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = _env_str("DEFAULT_FROM_EMAIL", "Console <console@localhost>")

# The public address of the console, used in links inside e-mails.
SITE_URL = _env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Enforcement: counters in Redis when REDIS_URL is set, else in this process.
LIMITER_FAIL_OPEN = env.bool("LIMITER_FAIL_OPEN", default=False)
LIMITER_CACHE_SECONDS = env.float("LIMITER_CACHE_SECONDS", default=5.0)
RESERVATION_SECONDS = env.int("RESERVATION_SECONDS", default=600)
# Roll usage up as it is recorded (single process); production runs `manage.py usage_worker`.
USAGE_ROLLUP_INLINE = env.bool("USAGE_ROLLUP_INLINE", default=True)
# With Redis: a settle queues its usage record in Redis, in the same round trip, and
# `usage_worker` stores the queued records in batches. Needs the worker, so rollups not inline.
USAGE_QUEUE = env.bool("USAGE_QUEUE", default=False)
# How often `usage_worker` reconciles the spend counters with the database.
RECONCILE_SECONDS = env.float("RECONCILE_SECONDS", default=60.0)

# The gateway (`/v1/messages`): upstream credentials are encrypted with the first of these
# Fernet keys and decrypted with any (comma-separated; rotate by putting a new one first).
# Unset: one key derived from SECRET_KEY.
UPSTREAM_CREDENTIAL_KEYS = env.list("UPSTREAM_CREDENTIAL_KEYS", default=[])
# The largest Messages API request body accepted (Anthropic's limit: 32 MB).
GATEWAY_MAX_BODY_BYTES = env.int("GATEWAY_MAX_BODY_BYTES", default=32 * 1024 * 1024)
# Where the gateway keeps a settle that failed until it is recorded (a local, persistent
# folder, shared by the processes of one host; see billing/messages_api/settling.py).
GATEWAY_SETTLE_SPOOL_DIR = Path(
    _env_str("GATEWAY_SETTLE_SPOOL_DIR", str(BASE_DIR / "var" / "settle-spool"))
)

TASKS = {
    "default": {
        "BACKEND": _env_str("TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend")
    }
}

# Security headers. Secure cookies and HSTS follow DEBUG so local HTTP keeps working.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_errors": {"()": "console.logging.ClientErrorsWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": _env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Failed sign-ins and lockouts are warnings; the bookkeeping between them is noise.
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
