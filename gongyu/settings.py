"""Gongyu settings: everything from environment variables, with safe embedded defaults.

GONGYU_ENV=demo (default) runs on SQLite with no other service; GONGYU_ENV=production refuses to start
without a real SECRET_KEY and field key, and turns on every transport and second-factor protection.
"""

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from gongyu.env import env, envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("GONGYU_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

GONGYU_ENV = env("GONGYU_ENV", "demo")
if GONGYU_ENV not in {"demo", "production", "test"}:
    raise ImproperlyConfigured("GONGYU_ENV must be demo, production or test")
PRODUCTION = GONGYU_ENV == "production"

DEBUG = envbool("DEBUG", False)

_DEMO_SECRET = "demo-only-insecure-key-change-me-8f2b1c9e4d7a6b3f0e1d2c3b4a59687f"
SECRET_KEY = env("SECRET_KEY", "" if PRODUCTION else _DEMO_SECRET)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEMO_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of 50+ characters in production")

# Key for encrypting sensitive fields (ID numbers, phones): a urlsafe-base64 32-byte Fernet key.
# Several keys may be given comma-separated; the first encrypts, all decrypt (key rotation).
_DEMO_FIELD_KEY = "ZGVtby1maWVsZC1rZXktbm90LWZvci1wcm9kdWN0aW9u"
GONGYU_FIELD_KEYS = envlist("GONGYU_FIELD_KEY", [] if PRODUCTION else [_DEMO_FIELD_KEY])
if PRODUCTION and (not GONGYU_FIELD_KEYS or _DEMO_FIELD_KEY in GONGYU_FIELD_KEYS):
    raise ImproperlyConfigured("GONGYU_FIELD_KEY must be set in production (python -m core.crypto genkey)")
if PRODUCTION and any(len(k) < 32 for k in GONGYU_FIELD_KEYS):
    raise ImproperlyConfigured("each GONGYU_FIELD_KEY must be a random value of 32+ characters (python -m core.crypto genkey)")
# Key of the lookup digests of encrypted fields; empty = derived from the LAST field key (docs/security.md).
GONGYU_DIGEST_KEY = env("GONGYU_DIGEST_KEY", "")
if PRODUCTION and GONGYU_DIGEST_KEY and len(GONGYU_DIGEST_KEY) < 32:
    raise ImproperlyConfigured("GONGYU_DIGEST_KEY must be a random value of 32+ characters")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The admin site at /ops/admin/ admits platform operators only (core/admin.py).
    "core.admin.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_htmx",
    "ninja",  # its local Swagger UI template and static files (no CDN) for /api/v1/docs
    "huey.contrib.djhuey",
    "core",
    "audit",
    "org",
    "periods",
    "accounts",
    "people",
    # Platform apps: domain apps below call them, they import no domain app.
    "jobs",
    "messaging",
    "ledger",
    "roster",
    "notices",
    "homeschool",
    "activities",
    "courses",
]

# core.page_middleware.* and the session-limit, second-factor and rotation middleware serve pages only:
# the token API under API_PATH_PREFIX skips them (core.middleware.PageOnly, docs/decisions/0005).
API_PATH_PREFIX = "/api/"
MIDDLEWARE = [
    "core.middleware.StrictScopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.CSPMiddleware",
    "core.page_middleware.SessionMiddleware",
    "core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.page_middleware.AuthenticationMiddleware",
    # Before the session-limit, second-factor and rotation middleware: they add messages.
    "core.page_middleware.MessageMiddleware",
    "core.page_middleware.OTPMiddleware",
    "accounts.middleware.SessionLimitsMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "accounts.middleware.PasswordRotationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.page_middleware.HtmxMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "core.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gongyu.urls"
WSGI_APPLICATION = "gongyu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gongyu" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.gongyu",
                "gongyu.todo.todo",
            ],
        },
    },
]

# --- Database: SQLite (WAL) by default, PostgreSQL through DATABASE_URL -----------------------------
DATABASE_URL = env("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if envbool("DB_PREPARED_STATEMENTS", True) and "postgresql" in DATABASES["default"]["ENGINE"]:
        # Only core.rows.prepared_cursor (the few hot statements, e.g. opening a notice) binds on the server
        # and so gets prepared, once per connection; Django's own cursors bind on the client and never are.
        # Turn off behind a transaction-pooling PgBouncer older than 1.21, which cannot keep them.
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(VAR_DIR / "gongyu.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
                # failing with "database is locked" on lock upgrade; WAL lets readers run alongside.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE columns) speed up PostgreSQL; SQLite simply builds the plain index.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Cache: Redis when configured, else local memory ----------------------------------------------
REDIS_URL = env("REDIS_URL", "")
# The rate limits on SMS codes per address and on activation failures count in the cache: a local-memory
# cache counts per process, so several app processes would multiply every limit. Production shares one.
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL must be set in production: rate limits live in the cache, which all app processes must share"
    )
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Background work (Huey): SQLite storage by default, Redis in production -----------------------
HUEY_IMMEDIATE = envbool("HUEY_IMMEDIATE", GONGYU_ENV == "test")
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "gongyu", "url": REDIS_URL, "immediate": HUEY_IMMEDIATE}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "gongyu",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
    }
# A running job whose heartbeat is older than this lost its worker: the sweeper queues it again (jobs app).
GONGYU_JOB_STALE_SECONDS = envint("GONGYU_JOB_STALE_SECONDS", 60, minimum=5)
HUEY["consumer"] = {"workers": envint("HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"}

# --- Accounts, passwords, sessions -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.PhoneBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# "standard": >= 8 characters and not a common password (ASVS). "mlps": GB/T 22239 style,
# three character classes and periodic change.
GONGYU_PASSWORD_POLICY = env("GONGYU_PASSWORD_POLICY", "standard")
if GONGYU_PASSWORD_POLICY not in {"standard", "mlps"}:
    raise ImproperlyConfigured("GONGYU_PASSWORD_POLICY must be standard or mlps")
GONGYU_PASSWORD_MAX_AGE_DAYS = envint("GONGYU_PASSWORD_MAX_AGE_DAYS", 90, minimum=1)
AUTH_PASSWORD_VALIDATORS = [
    # Every place a password is set passes the account (activation, password change, the admin's forms).
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("phone", "name")},
    },
    {"NAME": "accounts.passwords.PersonalDataValidator"},
    {"NAME": "accounts.passwords.RepetitionValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.PolicyValidator"},
]

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
GONGYU_STAFF_IDLE_MINUTES = envint("GONGYU_STAFF_IDLE_MINUTES", 30, minimum=1)
GONGYU_GUARDIAN_IDLE_MINUTES = envint("GONGYU_GUARDIAN_IDLE_MINUTES", 60 * 24 * 7, minimum=1)
GONGYU_SESSION_MAX_HOURS = envint("GONGYU_SESSION_MAX_HOURS", 12, minimum=1)
GONGYU_GUARDIAN_SESSION_MAX_HOURS = envint("GONGYU_GUARDIAN_SESSION_MAX_HOURS", 24 * 30, minimum=1)
SESSION_COOKIE_AGE = max(GONGYU_SESSION_MAX_HOURS, GONGYU_GUARDIAN_SESSION_MAX_HOURS) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Second factor for district and school admins. The embedded demo may waive it (and says so on the
# log-in page); production requires it unless explicitly turned off.
GONGYU_ADMIN_2FA = envbool("GONGYU_ADMIN_2FA", PRODUCTION)
OTP_TOTP_ISSUER = "共育平台"

# Lockout: 5 failures lock for 15 minutes, keyed by account and by account + address, never by
# address alone: families and schools share carrier-grade NAT addresses.
AXES_FAILURE_LIMIT = envint("GONGYU_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("GONGYU_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False
AXES_IPWARE_PROXY_COUNT = envint("GONGYU_PROXY_COUNT", 0, minimum=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
# Attempt rows hold the typed account name (a phone number): keep them out of the logs.
AXES_SENSITIVE_PARAMETERS = ["username", "password"]

# SMS verification codes (activation).
GONGYU_SMS_CODE_TTL_MINUTES = envint("GONGYU_SMS_CODE_TTL_MINUTES", 10, minimum=1)
GONGYU_SMS_BACKEND = env("GONGYU_SMS_BACKEND", "core.sms.OutboxBackend")

# --- Audit --------------------------------------------------------------------------------------
GONGYU_AUDIT_RETENTION_DAYS = envint("GONGYU_AUDIT_RETENTION_DAYS", 365, minimum=180)
# The audit chain is an HMAC under this key (decision 0009): without it, a rewritten row cannot be re-sealed.
# GONGYU_AUDIT_KEY seals new rows under GONGYU_AUDIT_KEY_ID; GONGYU_AUDIT_OLD_KEYS ("id:key,id:key") keeps
# retired keys so rows sealed under them still verify (rotation, docs/security.md).
GONGYU_AUDIT_KEY_ID = env("GONGYU_AUDIT_KEY_ID", "k1").strip()
_audit_key = env("GONGYU_AUDIT_KEY", "")
if PRODUCTION and (len(_audit_key) < 32 or _audit_key in (SECRET_KEY, *GONGYU_FIELD_KEYS)):
    raise ImproperlyConfigured("GONGYU_AUDIT_KEY must be set in production to a random value of 32+ characters of its own "
                               "(python -m core.crypto genkey)")
if not _audit_key:  # demo and test: derived, so that a demo database verifies across restarts
    _audit_key = hmac.new(SECRET_KEY.encode(), b"gongyu-audit-chain", hashlib.sha256).hexdigest()
GONGYU_AUDIT_KEYS = {GONGYU_AUDIT_KEY_ID: _audit_key}
for _item in envlist("GONGYU_AUDIT_OLD_KEYS", []):
    _kid, _sep, _secret = _item.partition(":")
    if not (_sep and _kid.strip() and _secret.strip()):
        raise ImproperlyConfigured("GONGYU_AUDIT_OLD_KEYS must be id:key pairs, comma-separated")
    if _kid.strip() == GONGYU_AUDIT_KEY_ID:
        raise ImproperlyConfigured("GONGYU_AUDIT_OLD_KEYS must not reuse the id of GONGYU_AUDIT_KEY_ID")
    GONGYU_AUDIT_KEYS[_kid.strip()] = _secret.strip()
if not (0 < len(GONGYU_AUDIT_KEY_ID) <= 16) or ":" in GONGYU_AUDIT_KEY_ID:
    raise ImproperlyConfigured("GONGYU_AUDIT_KEY_ID must be 1-16 characters without ':'")

# --- i18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["gongyu.formats"]  # dates shown through format names (MONTH_DAY_FORMAT …): local fixes here
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media files (no CDN: every front-end file is vendored) ----------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start when it is missing
# gongyu/ is the project package, not an app: its static folder (vendored Bootstrap, HTMX, app.css) is listed here.
STATICFILES_DIRS = [BASE_DIR / "gongyu" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(VAR_DIR / "media")}},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Security headers -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_TLS_PROXY", PRODUCTION) else None
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# --- Logging: every handler passes through the redaction filter (no ID or phone numbers) ----------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "core.logging.RedactFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact"], "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        "faker": {"level": "WARNING"},
    },
}

# --- Ninja API -----------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
GONGYU_API_TOKEN_DAYS = envint("GONGYU_API_TOKEN_DAYS", 30, minimum=1)

GONGYU_DEMO = GONGYU_ENV == "demo"

# --- accounts (helper) ---
# Sessions record their account, so disabling an account deletes exactly its server-side sessions.
SESSION_ENGINE = "accounts.session_store_cached" if REDIS_URL else "accounts.session_store"
if GONGYU_SMS_CODE_TTL_MINUTES > 10:
    raise ImproperlyConfigured("GONGYU_SMS_CODE_TTL_MINUTES must be at most 10")
GONGYU_SMS_PER_IP_HOUR = envint("GONGYU_SMS_PER_IP_HOUR", 20, minimum=1)
# Failed activation attempts allowed per phone and per address in an hour (guessing children's names).
GONGYU_ACTIVATION_FAILURES_PER_PHONE_HOUR = envint("GONGYU_ACTIVATION_FAILURES_PER_PHONE_HOUR", 10, minimum=1)
GONGYU_ACTIVATION_FAILURES_PER_IP_HOUR = envint("GONGYU_ACTIVATION_FAILURES_PER_IP_HOUR", 30, minimum=1)
# Version of the platform rules and privacy policy a guardian agrees to (recorded on each consent).
GONGYU_RULES_VERSION = env("GONGYU_RULES_VERSION", "2026.1")
# A lockout lasts exactly AXES_COOLOFF_TIME from the 5th failure: tries while locked do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Django's default handlers for "django" (console when DEBUG, mail_admins) and "django.server" (runserver's
# request lines) do not pass through the redaction filter: route both through the filtered console.
LOGGING["loggers"]["django"] = {"handlers": [], "level": "INFO", "propagate": True}
LOGGING["loggers"]["django.server"] = {"handlers": ["console"], "level": "INFO", "propagate": False}
