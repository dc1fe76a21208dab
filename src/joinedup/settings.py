"""Settings for Joinedup, read from environment variables only.

Every variable is documented in docs/operations.md; keep the two in step. The defaults give
the embedded set-up (SQLite, a task worker on the same database, files on disk), so `make
demo` needs nothing else. Production sets JOINEDUP_SECRET_KEY, DATABASE_URL and
JOINEDUP_SECURE=true.
"""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.translation import gettext_lazy as _

from joinedup.identity.encryption import derive_development_key
from joinedup.keyfiles import read_or_create


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent.parent
DATA_DIR = Path(env_str("JOINEDUP_DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("JOINEDUP_DEBUG", False)
# The bundle benchmark's floor (authentication and the acceptance's inserts alone, through
# the same server): an operation that exists only when this is on. Never on in production.
BENCH_FLOOR = env_bool("JOINEDUP_BENCH_FLOOR", False)
SECURE = env_bool("JOINEDUP_SECURE", False)


def _secret_key() -> str:
    key = env_str("JOINEDUP_SECRET_KEY")
    if key:
        return key
    if SECURE:
        raise ImproperlyConfigured("JOINEDUP_SECRET_KEY must be set when JOINEDUP_SECURE=true")
    # Embedded set-up: one random key per data directory, kept beside the database, made once
    # even when the web server's workers start together.
    return read_or_create(DATA_DIR / "secret_key", get_random_secret_key)


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("JOINEDUP_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("JOINEDUP_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "joinedup.identity.apps.PolicyAdminConfig",  # django.contrib.admin, asking the policy
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "joinedup.federation",
    "joinedup.identity",
    "joinedup.sharing",
    "joinedup.clientindex",
    "joinedup.exchange",
    "joinedup.rules",
    "joinedup.delivery",
    "joinedup.bundles",
    "joinedup.channels",
    "joinedup.care",
    "joinedup.performance",
    "joinedup.funding",
    "joinedup.engagement",
    "joinedup.backoffice",
    "joinedup.web",
    "joinedup.api",
    "joinedup.demo",
]

MIDDLEWARE = [
    # First: the scheme from X-Forwarded-Proto, believed only from JOINEDUP_PROXY_COUNT proxies.
    "joinedup.web.proxies.ForwardedProtoMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's and django-otp's, reading the session's user with its device in one statement.
    "joinedup.identity.session_user.AuthenticationMiddleware",
    # Each API client's and personal token's requests under /api/ are rate limited (429).
    "joinedup.channels.ratelimit.RateLimitMiddleware",
    "joinedup.identity.session_user.OTPMiddleware",
    "joinedup.identity.sessions.SessionLengthMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "joinedup.urls"
AUTH_USER_MODEL = "identity.User"
WSGI_APPLICATION = "joinedup.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "joinedup.web.context_processors.catalogue_notice",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'joinedup.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server and the task worker read while the other writes;
        # IMMEDIATE transactions take the write lock up front instead of failing midway.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side binding: the values go apart from the statement, in psycopg's binary
    # formats, instead of being quoted into its text in Python (Django's default), which
    # cost a quarter of a bundle's acceptance's CPU (docs/performance.md). Nothing is
    # prepared by it, so it works behind a transaction-mode pooler too.
    # JOINEDUP_DB_SERVER_BINDING=false goes back to Django's client-side binding.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env_bool(
        "JOINEDUP_DB_SERVER_BINDING", True
    )
    # psycopg's prepared statements: a statement used a fifth time on a connection is
    # prepared, and PostgreSQL plans it no more (planning a page's joins cost more than
    # running them; docs/performance.md). JOINEDUP_DB_PREPARE_THRESHOLD=N prepares on the
    # Nth use (binding on the server, whatever JOINEDUP_DB_SERVER_BINDING says); `off`
    # prepares nothing: behind a transaction-mode pooler older than PgBouncer 1.21, or one
    # without max_prepared_statements (docs/operations.md, "PostgreSQL and a pooler").
    _prepare = env_str("JOINEDUP_DB_PREPARE_THRESHOLD").strip().lower() or "5"
    if _prepare != "off":
        if not _prepare.isdigit():
            raise ImproperlyConfigured(
                f"JOINEDUP_DB_PREPARE_THRESHOLD must be a whole number or off, not {_prepare!r}"
            )
        DATABASES["default"]["OPTIONS"].update(
            server_side_binding=True, prepare_threshold=int(_prepare)
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background tasks ------------------------------------------------------------------
TASK_BACKEND = env_str("JOINEDUP_TASK_BACKEND", "database")
# Record linkage (joinedup.clientindex): DuckDB on one machine, Spark beyond one machine
# (JOINEDUP_LINKAGE_BACKEND=spark, with JOINEDUP_SPARK_MASTER: local[N] or a cluster's URL).
LINKAGE_BACKEND = env_str("JOINEDUP_LINKAGE_BACKEND", "duckdb")
SPARK_MASTER = env_str("JOINEDUP_SPARK_MASTER", "local[2]")
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "redis": "django_tasks_rq.RQBackend",
}
if TASK_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"JOINEDUP_TASK_BACKEND must be one of {', '.join(_TASK_BACKENDS)}, not {TASK_BACKEND!r}"
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASK_BACKEND]}}
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# The RQ queues (read by django-rq, which the redis task backend runs on): every task of the
# platform goes to the default queue; `joinedup worker` runs the worker that fits the backend.
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
if TASK_BACKEND == "redis":
    INSTALLED_APPS.append("django_rq")

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = env_str("JOINEDUP_LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static and uploaded files ---------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("JOINEDUP_STATIC_ROOT", str(DATA_DIR / "static")))
# The design system's assets, installed from the npm registry by `make assets`.
STATICFILES_DIRS = [("uswds", BASE_DIR / "node_modules" / "@uswds" / "uswds" / "dist")]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # The charting library's JavaScript, from its Python package (joinedup.performance).
    "joinedup.performance.staticfinders.PlotlyFinder",
]
MEDIA_ROOT = Path(env_str("JOINEDUP_MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
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
WHITENOISE_USE_FINDERS = DEBUG

# --- Security --------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): our own scripts, styles and images only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
if SECURE:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("JOINEDUP_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("JOINEDUP_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from anyone. The
    # scheme comes from joinedup.web.proxies, which believes it only from our own proxies.

# --- API -------------------------------------------------------------------------------
API_PAGE_SIZE = env_int("JOINEDUP_API_PAGE_SIZE", 50)
API_MAX_PAGE_SIZE = 500
NINJA_PAGINATION_PER_PAGE = API_PAGE_SIZE
NINJA_PAGINATION_MAX_LIMIT = API_MAX_PAGE_SIZE
#: Agency API clients: requests per minute and burst (token bucket; see channels/ratelimit.py).
API_CLIENT_RATE_PER_MINUTE = env_int("JOINEDUP_API_CLIENT_RATE_PER_MINUTE", 600)
API_CLIENT_BURST = env_int("JOINEDUP_API_CLIENT_BURST", 60)
#: Personal tokens: requests per minute and burst (a bucket in the cache, per token). The
#: default (20 a second, 100 at once) is far above a person's own use.
PERSONAL_TOKEN_RATE_PER_MINUTE = env_int("JOINEDUP_PERSONAL_TOKEN_RATE_PER_MINUTE", 1200)
PERSONAL_TOKEN_BURST = env_int("JOINEDUP_PERSONAL_TOKEN_BURST", 100)
if PERSONAL_TOKEN_RATE_PER_MINUTE < 1 or PERSONAL_TOKEN_BURST < 1:
    raise ImproperlyConfigured(
        "JOINEDUP_PERSONAL_TOKEN_RATE_PER_MINUTE and JOINEDUP_PERSONAL_TOKEN_BURST "
        "must be 1 or more"
    )


# --- Cache -----------------------------------------------------------------------------
# One cache in each process by default; JOINEDUP_CACHE_URL=redis://host:6379/1 shares one
# among all processes and machines (dummy:// turns caching off). The catalogue API keeps its
# answers there (joinedup.api.caching), keyed by the catalogue's version, so never stale.
def _cache(url: str) -> dict:
    scheme = url.partition("://")[0]
    if scheme == "locmem":
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    if scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "dummy":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    raise ImproperlyConfigured(
        "JOINEDUP_CACHE_URL must start with locmem://, redis://, rediss:// or dummy://, "
        f"not {url!r}"
    )


CACHES = {"default": _cache(env_str("JOINEDUP_CACHE_URL", "locmem://"))}
CACHES["default"]["TIMEOUT"] = 3600
# Right after LocaleMiddleware: the language of the answer is part of the cache key.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.locale.LocaleMiddleware") + 1,
    "joinedup.api.caching.CatalogueCacheMiddleware",
)
# Before the cache and every view: over-long URLs (414), and under /api/ bodies that are too
# large (413), not JSON in UTF-8 (415, 400) or hold a NUL character (422), all answered in JSON.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.locale.LocaleMiddleware") + 1,
    "joinedup.api.admission.AdmissionMiddleware",
)
#: The longest URL (path and query) answered; longer ones get 414. gunicorn is started with
#: no limit of its own below this one (joinedup.web.server), so the refusal is ours.
MAX_URL_LENGTH = env_int("JOINEDUP_MAX_URL_LENGTH", 8192)
#: The bearer token of the monitoring endpoint /metrics (queue depth, outbox lag, ledger
#: checkpoint age; joinedup.web.watch); unset, the endpoint answers 404.
METRICS_TOKEN = env_str("JOINEDUP_METRICS_TOKEN")

# --- Identity: accounts, second factor, external identity providers -------------------
LOGIN_URL = "identity:sign-in"
LOGIN_REDIRECT_URL = "identity:account"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock an account out (from one address) after repeated failed sign-ins, for a while.
AXES_FAILURE_LIMIT = env_int("JOINEDUP_SIGN_IN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("JOINEDUP_SIGN_IN_LOCKOUT_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "identity/locked_out.html"
AXES_USERNAME_CALLABLE = "joinedup.identity.accounts.axes_username"
AXES_VERBOSE = False
#: Proxies in front of the platform (each adds to X-Forwarded-For and X-Forwarded-Proto):
#: 0, none, and those headers are not believed.
PROXY_COUNT = env_int("JOINEDUP_PROXY_COUNT", 0)
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT or None
OTP_TOTP_ISSUER = env_str("JOINEDUP_OTP_ISSUER", "Joinedup")
# Sessions: people stay signed in for a working day; staff are signed out after a short idle.
SESSION_COOKIE_AGE = env_int("JOINEDUP_SESSION_SECONDS", 8 * 3600)
STAFF_SESSION_IDLE_SECONDS = env_int("JOINEDUP_STAFF_SESSION_SECONDS", 30 * 60)
# External identity providers (OpenID Connect), as JSON: {"key": {"name": ..., "issuer": ...,
# "client_id": ..., "client_secret": ..., "assurance": 2}}. See docs/security.md.
try:
    OIDC_PROVIDERS = json.loads(env_str("JOINEDUP_OIDC_PROVIDERS", "{}") or "{}")
except json.JSONDecodeError as error:
    raise ImproperlyConfigured(f"JOINEDUP_OIDC_PROVIDERS is not valid JSON: {error}") from None
# E-mail: printed on the console in the embedded set-up; an SMTP server in production.
EMAIL_BACKEND = env_str(
    "JOINEDUP_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if SECURE
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("JOINEDUP_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("JOINEDUP_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("JOINEDUP_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("JOINEDUP_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("JOINEDUP_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = env_str("JOINEDUP_EMAIL_FROM", "Joinedup <no-reply@localhost>")

# --- Identity: the client registry -----------------------------------------------------
# The country (ISO 3166-1 alpha-2) recorded for an address whose form and jurisdiction do not
# say it; blank: none. An address within a jurisdiction takes its country from the tree.
DEFAULT_COUNTRY = env_str("JOINEDUP_DEFAULT_COUNTRY").strip().upper()
if DEFAULT_COUNTRY and not (len(DEFAULT_COUNTRY) == 2 and DEFAULT_COUNTRY.isalpha()):
    raise ImproperlyConfigured(
        f"JOINEDUP_DEFAULT_COUNTRY must be a two-letter country code, not {DEFAULT_COUNTRY!r}"
    )

# --- Identity: identifiers encrypted at rest ------------------------------------------
# Fernet keys, comma-separated: the first encrypts, all decrypt (rotate by putting a new key
# first, running `joinedup rotate-identifier-keys`, then removing the old one).
IDENTIFIER_KEYS = env_list("JOINEDUP_IDENTIFIER_KEYS")
IDENTIFIER_INDEX_KEY = env_str("JOINEDUP_IDENTIFIER_INDEX_KEY")
if SECURE and not (IDENTIFIER_KEYS and IDENTIFIER_INDEX_KEY):
    raise ImproperlyConfigured(
        "JOINEDUP_IDENTIFIER_KEYS and JOINEDUP_IDENTIFIER_INDEX_KEY must be set when "
        "JOINEDUP_SECURE=true"
    )
if not IDENTIFIER_KEYS or not IDENTIFIER_INDEX_KEY:
    # Embedded set-up only: keys derived from the secret key, so the demo needs no set-up.
    IDENTIFIER_KEYS = IDENTIFIER_KEYS or [derive_development_key(SECRET_KEY, "identifiers")]
    IDENTIFIER_INDEX_KEY = IDENTIFIER_INDEX_KEY or derive_development_key(SECRET_KEY, "index")

# --- Sharing: the access ledger, the outbox, emergency access ---------------------------
# Ed25519 key signing the ledger's checkpoints (base64 of 32 bytes; `joinedup ledger
# new-key`). Embedded set-up: generated once into the data directory. Older public keys stay
# trusted for verification in JOINEDUP_LEDGER_VERIFY_KEYS (comma-separated).
LEDGER_SIGNING_KEY = env_str("JOINEDUP_LEDGER_SIGNING_KEY")
LEDGER_VERIFY_KEYS = env_list("JOINEDUP_LEDGER_VERIFY_KEYS")
if SECURE and not LEDGER_SIGNING_KEY:
    raise ImproperlyConfigured("JOINEDUP_LEDGER_SIGNING_KEY must be set when JOINEDUP_SECURE=true")
# Checkpoints are signed every few seconds (a signature costs well under a millisecond):
# this interval is how long new access events stay open to an undetected rewrite.
LEDGER_CHECKPOINT_SECONDS = env_int("JOINEDUP_LEDGER_CHECKPOINT_SECONDS", 5)
# How late a checkpoint may be (a busy queue) before `ledger verify --witness` reports the
# rows it should have covered.
LEDGER_CHECKPOINT_SLACK_SECONDS = env_int("JOINEDUP_LEDGER_CHECKPOINT_SLACK_SECONDS", 10)
# Where each signed checkpoint is also kept, outside the database (comma-separated, e.g.
# `file:/mnt/ledger-witness`); see sharing/witness.py. Embedded set-up: <data dir>/ledger-witness.
LEDGER_WITNESSES = env_list("JOINEDUP_LEDGER_WITNESSES")
# Parallel chains of the ledger on PostgreSQL: concurrent appends each take a free one.
LEDGER_CHAINS = env_int("JOINEDUP_LEDGER_CHAINS", 8)
if LEDGER_CHAINS < 1:
    raise ImproperlyConfigured("JOINEDUP_LEDGER_CHAINS must be 1 or more")
OUTBOX_MAX_ATTEMPTS = env_int("JOINEDUP_OUTBOX_MAX_ATTEMPTS", 12)
OUTBOX_RETRY_BASE_SECONDS = env_int("JOINEDUP_OUTBOX_RETRY_BASE_SECONDS", 2)
OUTBOX_RETRY_MAX_SECONDS = env_int("JOINEDUP_OUTBOX_RETRY_MAX_SECONDS", 3600)
OUTBOX_LEASE_SECONDS = env_int("JOINEDUP_OUTBOX_LEASE_SECONDS", 60)
OUTBOX_POLL_SECONDS = env_int("JOINEDUP_OUTBOX_POLL_SECONDS", 5)
OUTBOX_TASK_SECONDS = 60
BREAK_GLASS_DEFAULT_MINUTES = 60
BREAK_GLASS_MAX_MINUTES = env_int("JOINEDUP_BREAK_GLASS_MAX_MINUTES", 240)

# --- Exchange: this node among other deployments (docs/exchange.md) --------------------
# This node's member code in the trust list (INSTANCE/CLASS/MEMBER/SUBSYSTEM). Empty: this
# deployment is alone, and the exchange endpoint refuses every message.
EXCHANGE_NODE_ID = env_str("JOINEDUP_EXCHANGE_NODE_ID")
# This node's private keys as JWK JSON (Ed25519 for signing, X25519 for encryption). Empty:
# made on first use and kept in the database, encrypted with a key derived from SECRET_KEY.
EXCHANGE_SIGNING_KEY = env_str("JOINEDUP_EXCHANGE_SIGNING_KEY")
EXCHANGE_ENCRYPTION_KEY = env_str("JOINEDUP_EXCHANGE_ENCRYPTION_KEY")
# The governance authority's public keys that sign trust lists: a JWK set (JSON) or the path
# of a file holding one.
EXCHANGE_TRUST_ANCHORS = env_str("JOINEDUP_EXCHANGE_TRUST_ANCHORS")
# How long a sealed message stays valid (seconds); a peer down longer gets a dead letter.
EXCHANGE_MESSAGE_TTL_SECONDS = env_int("JOINEDUP_EXCHANGE_MESSAGE_TTL_SECONDS", 3 * 24 * 3600)
# Clock difference tolerated between nodes (seconds).
EXCHANGE_CLOCK_SKEW_SECONDS = env_int("JOINEDUP_EXCHANGE_CLOCK_SKEW_SECONDS", 60)
EXCHANGE_MAX_ATTEMPTS = env_int("JOINEDUP_EXCHANGE_MAX_ATTEMPTS", 20)
EXCHANGE_RETRY_BASE_SECONDS = env_int("JOINEDUP_EXCHANGE_RETRY_BASE_SECONDS", 2)
EXCHANGE_RETRY_MAX_SECONDS = env_int("JOINEDUP_EXCHANGE_RETRY_MAX_SECONDS", 1800)
EXCHANGE_TIMEOUT_SECONDS = env_int("JOINEDUP_EXCHANGE_TIMEOUT_SECONDS", 15)
#: How many messages (of different conversations) one deliverer posts at once: several on
#: PostgreSQL; one on SQLite, which takes one writer at a time anyway.
EXCHANGE_DELIVERY_CONCURRENCY = env_int(
    "JOINEDUP_EXCHANGE_DELIVERY_CONCURRENCY",
    1 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 8,
)
EXCHANGE_MAX_MESSAGE_BYTES = env_int("JOINEDUP_EXCHANGE_MAX_MESSAGE_BYTES", 5_000_000)

# --- Delivery: documents, payments, notifications, clocks ------------------------------
# The address people reach this installation at (links in e-mails, QR codes on documents).
PUBLIC_URL = env_str("JOINEDUP_PUBLIC_URL", "http://localhost:8000")
# Ed25519 key signing documents (base64 of 32 bytes; `joinedup document-keys new`). Embedded
# set-up: generated once into the data directory. Older public keys stay trusted for
# verification in JOINEDUP_DOCUMENT_VERIFY_KEYS (comma-separated) after a rotation.
DOCUMENT_SIGNING_KEY = env_str("JOINEDUP_DOCUMENT_SIGNING_KEY")
DOCUMENT_VERIFY_KEYS = env_list("JOINEDUP_DOCUMENT_VERIFY_KEYS")
if SECURE and not DOCUMENT_SIGNING_KEY:
    raise ImproperlyConfigured(
        "JOINEDUP_DOCUMENT_SIGNING_KEY must be set when JOINEDUP_SECURE=true"
    )
PAYMENT_PROVIDER = env_str("JOINEDUP_PAYMENT_PROVIDER", "sandbox")
PAYMENT_SANDBOX_SECRET = env_str("JOINEDUP_PAYMENT_SANDBOX_SECRET") or f"sandbox-{SECRET_KEY}"
PAYMENT_SANDBOX_WEBHOOK_URL = env_str("JOINEDUP_PAYMENT_SANDBOX_WEBHOOK_URL")
SMS_PROVIDER = env_str("JOINEDUP_SMS_PROVIDER", "sandbox")
NOTIFICATION_MAX_ATTEMPTS = env_int("JOINEDUP_NOTIFICATION_MAX_ATTEMPTS", 8)
NOTIFICATION_RETRY_BASE_SECONDS = env_int("JOINEDUP_NOTIFICATION_RETRY_BASE_SECONDS", 30)
EMAIL_MESSAGE_ID_DOMAIN = env_str("JOINEDUP_EMAIL_MESSAGE_ID_DOMAIN", "joinedup.localhost")
DELIVERY_AT_RISK_DAYS = env_int("JOINEDUP_DELIVERY_AT_RISK_DAYS", 2)
DELIVERY_BREACH_CHECK_SECONDS = env_int("JOINEDUP_DELIVERY_BREACH_CHECK_SECONDS", 3600)
DELIVERY_FORWARD_MAX_ATTEMPTS = env_int("JOINEDUP_DELIVERY_FORWARD_MAX_ATTEMPTS", 8)
DELIVERY_UPLOAD_MAX_BYTES = env_int("JOINEDUP_DELIVERY_UPLOAD_MAX_BYTES", 10_000_000)

# --- Performance: measures, surveys, benchmarking -------------------------------------
# Published figures based on fewer transactions (or answers) than this are suppressed.
PERFORMANCE_MIN_COUNT = env_int("JOINEDUP_PERFORMANCE_MIN_COUNT", 10)
# Share of completed transactions whose applicant is invited to the survey (0 to 1).
try:
    PERFORMANCE_SURVEY_RATE = float(env_str("JOINEDUP_PERFORMANCE_SURVEY_RATE", "0.2"))
except ValueError:
    raise ImproperlyConfigured("JOINEDUP_PERFORMANCE_SURVEY_RATE must be a number") from None
PERFORMANCE_SURVEY_DAYS = env_int("JOINEDUP_PERFORMANCE_SURVEY_DAYS", 30)
PERFORMANCE_DRAFT_TIMEOUT_DAYS = env_int("JOINEDUP_PERFORMANCE_DRAFT_TIMEOUT_DAYS", 30)
PERFORMANCE_DIGITAL_CHANNELS = env_list("JOINEDUP_PERFORMANCE_DIGITAL_CHANNELS", "online,partner")
#: A CSV roster of agents per office, weekday and hours (see docs/performance-measures.md).
PERFORMANCE_ROSTER_FILE = env_str(
    "JOINEDUP_PERFORMANCE_ROSTER_FILE", str(DATA_DIR / "performance" / "roster.csv")
)
#: A CSV roster of caseworker hours per office (or agency) and week (see
#: docs/performance-measures.md, *Caseworker hours*).
PERFORMANCE_CASEWORK_ROSTER_FILE = env_str(
    "JOINEDUP_PERFORMANCE_CASEWORK_ROSTER_FILE",
    str(DATA_DIR / "performance" / "caseworker-roster.csv"),
)
#: How many synthetic transactions `joinedup demo` writes the first time, over two years:
#: enough that the published figures have cases to compare across jurisdictions. Fewer for a
#: quicker first start, on a slow machine or in a test.
DEMO_HISTORY_TRANSACTIONS = env_int("JOINEDUP_DEMO_HISTORY_TRANSACTIONS", 20_000)

# --- Logging ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every handler redacts anything shaped like a personal identifier (DESIGN.md §5).
    "filters": {
        "redact_identifiers": {"()": "joinedup.identity.redaction.IdentifierRedactionFilter"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_identifiers"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("JOINEDUP_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
