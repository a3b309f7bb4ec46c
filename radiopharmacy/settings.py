"""Gallium settings, read from the environment (see .env.example and the README).

With nothing set, the app runs on an embedded default: SQLite (WAL, IMMEDIATE transactions) and
Celery in eager mode, so one process does everything. With DATABASE_URL and REDIS_URL it runs
on PostgreSQL and Redis with real Celery workers and beat.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# The embedded default is for trying Gallium on one machine; production sets DEBUG=0 and must
# then give a real SECRET_KEY and ALLOWED_HOSTS (checked below, and by `check --deploy`).
DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The address people reach Gallium at, printed in certificates' QR codes for verification.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# The manufacturing site as its release certificates name it, with SITE_NAME below (SPEC §2.5);
# demo values by default.
SITE_ADDRESS = env.str(
    "SITE_ADDRESS", default="Department of Nuclear Medicine, 1 Demo Street, 1000 AA Amsterdam"
)
SITE_LICENCE = env.str("SITE_LICENCE", default="MIA-DEMO-0000 (demo)")
# The site's PAdES signing key and certificate (PEM; the certificate file may carry its chain)
# and the root a verifier trusts. Unset: a self-signed demo root and signing pair are made once
# in CERTIFICATE_SIGNING_DIR at the first certificate (qc/certificate_signing.py).
CERTIFICATE_SIGNING_KEY = env.str("CERTIFICATE_SIGNING_KEY", default="")
CERTIFICATE_SIGNING_CERT = env.str("CERTIFICATE_SIGNING_CERT", default="")
CERTIFICATE_SIGNING_KEY_PASSWORD = env.str("CERTIFICATE_SIGNING_KEY_PASSWORD", default="")
CERTIFICATE_TRUST_ROOT = env.str("CERTIFICATE_TRUST_ROOT", default="")
CERTIFICATE_SIGNING_DIR = Path(
    env.str("CERTIFICATE_SIGNING_DIR", default=str(VAR_DIR / "certificate-signing"))
)
if bool(CERTIFICATE_SIGNING_KEY) != bool(CERTIFICATE_SIGNING_CERT):
    raise ImproperlyConfigured("Set CERTIFICATE_SIGNING_KEY and CERTIFICATE_SIGNING_CERT together.")
# The radiopharmacy's name, printed on syringe labels and printouts.
SITE_NAME = env.str("SITE_NAME", default="Gallium radiopharmacy")
SITE_TIME_ZONE = env.str("SITE_TIME_ZONE", default="Europe/Amsterdam")
try:
    from zoneinfo import ZoneInfo

    ZoneInfo(SITE_TIME_ZONE)
except Exception as exc:  # noqa: BLE001 - any failure means the value is unusable
    raise ImproperlyConfigured(f"SITE_TIME_ZONE {SITE_TIME_ZONE!r} is not a known zone") from exc

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "rules.apps.AutodiscoverRulesConfig",
    "radiopharmacy",
    "qc",
    "scheduling",
]

MIDDLEWARE = [
    # First: every response carries its X-Request-ID, and every log line of the request its id.
    "radiopharmacy.core.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts, for the audit entries of user and group changes (radiopharmacy/core/accounts.py).
    "radiopharmacy.core.accounts.CurrentRequestMiddleware",
    # The idle timeout, which a page's background refresh does not renew.
    "radiopharmacy.core.sessions.IdleSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes last: it turns a lockout raised by the authentication backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "radiopharmacy.urls"
WSGI_APPLICATION = "radiopharmacy.wsgi.application"

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
                "radiopharmacy.site.context_processors.gallium",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{_SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing
            # half-way with "database is locked"; WAL lets readers go on meanwhile.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A named file: the shared in-memory test database fails with threads (live server, races).
    # One file per test process, so two suites running at once do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_db_{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
DATABASE_IS_POSTGRESQL = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgres")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Two PostgreSQL roles (README, "PostgreSQL roles"): DATABASE_URL is the application's role, which
# may only INSERT and SELECT on the audit tables; DATABASE_OWNER_URL (same database) owns the
# tables and is the role `manage.py migrate` connects as. Unset: one role does both.
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")
DATABASE_OWNER = {}
if DATABASE_OWNER_URL:
    if not DATABASE_IS_POSTGRESQL:
        raise ImproperlyConfigured("DATABASE_OWNER_URL needs DATABASE_URL on PostgreSQL.")
    _owner = environ.Env.db_url_config(DATABASE_OWNER_URL)
    DATABASE_OWNER = {k: _owner.get(k, "") for k in ("USER", "PASSWORD", "HOST", "PORT")}
# The role the migrations grant the application's rights to (empty: no separate role).
DATABASE_APP_ROLE = (
    DATABASES["default"].get("USER", "")
    if DATABASE_OWNER and DATABASE_OWNER["USER"] != DATABASES["default"].get("USER")
    else ""
)

# --- Audit trail anchoring ------------------------------------------------------------------
# Every audit entry carries an HMAC-SHA256 under this key, which never goes into the database:
# whoever can rewrite the table cannot re-sign it. Production (DEBUG off) must set it; the
# embedded default generates one into var/ once and reuses it.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")
if not AUDIT_HMAC_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY must be set when DEBUG is off.")
    import secrets

    _key_path = VAR_DIR / "audit-hmac.key"
    VAR_DIR.mkdir(exist_ok=True)
    if not _key_path.exists():
        # Written whole under another name, then linked: a process starting at the same time
        # reads either no file or the whole key, and the first link wins.
        _tmp = _key_path.with_name(f".audit-hmac.{os.getpid()}.tmp")
        with open(os.open(_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(_tmp, _key_path)
        except FileExistsError:
            pass
        finally:
            _tmp.unlink()
    AUDIT_HMAC_KEY = _key_path.read_text().strip()
if len(AUDIT_HMAC_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be at least 32 characters long.")
# Signed checkpoints of the chain (entry id, count, head hash, time) are appended here, one JSON
# line each, outside the database: `verify_audit` checks the chain against every one of them.
AUDIT_CHECKPOINT_DIR = Path(
    env.str("AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "audit-checkpoints"))
)
# A checkpoint is written after every this many entries (and by beat, and on demand).
AUDIT_CHECKPOINT_EVERY = 100
# A period of the trail is reviewed and signed within this many days (SPEC §2.8): beyond it, the
# beat job `radiopharmacy.audit_review_overdue` raises one alert.
AUDIT_REVIEW_INTERVAL_DAYS = env.int("AUDIT_REVIEW_INTERVAL_DAYS", default=30)
# RFC 3161 timestamps of checkpoints: not available (no time-stamping client among the
# dependencies); setting it is refused rather than silently ignored.
AUDIT_TSA_URL = env.str("AUDIT_TSA_URL", default="")
if AUDIT_TSA_URL:
    raise ImproperlyConfigured("AUDIT_TSA_URL is not supported yet (see the README).")

# --- Plausibility of records (radiopharmacy.core.bounds holds the fixed physical bounds) --------
# A booking's injection time lies within this window around today.
BOOKING_WINDOW_PAST_DAYS = env.int("BOOKING_WINDOW_PAST_DAYS", default=365)
BOOKING_WINDOW_FUTURE_DAYS = env.int("BOOKING_WINDOW_FUTURE_DAYS", default=365)
# A batch's decay-corrected yield is at most 100 % plus this (dose calibrators agree within a few
# per cent, so a real yield near 100 % may read slightly above it).
YIELD_TOLERANCE_PERCENT = env.float("YIELD_TOLERANCE_PERCENT", default=5.0)

# --- Quality analytics (SPEC §2.9) ------------------------------------------------------------
# Control charts: the centre line and limits come from the first TREND_BASELINE_POINTS points of
# a metric's series (the baseline period); no rule is judged before it is complete. The series
# reaches back TREND_WINDOW_DAYS days.
TREND_BASELINE_POINTS = env.int("TREND_BASELINE_POINTS", default=20)
TREND_WINDOW_DAYS = env.int("TREND_WINDOW_DAYS", default=180)
# Activity balance: an unaccounted remainder beyond this share of the product at EOS is flagged;
# the QC samples are taken as this volume at the EOS concentration.
BALANCE_TOLERANCE_PERCENT = env.float("BALANCE_TOLERANCE_PERCENT", default=5.0)
QC_SAMPLE_VOLUME_ML = env.float("QC_SAMPLE_VOLUME_ML", default=0.5)
# Generator forecast: the efficiency trend is fitted to the elutions of the last N days.
FORECAST_FIT_DAYS = env.int("FORECAST_FIT_DAYS", default=90)
# The quality review (qc) counts patients per generator through this site-layer function.
QUALITY_REVIEW_PATIENTS = "radiopharmacy.site.quality_review.patients_served_per_generator"

# --- Redis and Celery -----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without Redis everything runs in-process (eager); with it, tasks go to real workers.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task is redelivered if a worker dies: every task is idempotent
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Queues: `celery` (default), `plans` (production-plan recomputes, many and coalesced) and
# `certificates` (release certificates, never behind a plan). `make worker` serves all three;
# one worker per queue: `celery -A radiopharmacy worker -Q plans` etc.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# A worker started without -Q consumes every queue listed here.
CELERY_TASK_QUEUES = [Queue("celery"), Queue("plans"), Queue("certificates")]
CELERY_TASK_ROUTES = {
    "scheduling.recompute_plan": {"queue": "plans"},
    "scheduling.sync_planned_runs": {"queue": "plans"},
    "qc.render_certificate": {"queue": "certificates"},
}
CELERY_BEAT_SCHEDULE: dict = {}  # filled in radiopharmacy/celery.py, next to the tasks it names
# A background job that has failed this often (broker refused, task raised, never finished)
# is no longer retried and raises a critical alert; an administrator retries it in the admin.
try:
    OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
    if OUTBOX_MAX_ATTEMPTS < 1:
        raise ValueError(OUTBOX_MAX_ATTEMPTS)
except ValueError as exc:
    raise ImproperlyConfigured("OUTBOX_MAX_ATTEMPTS must be a whole number of at least 1") from exc

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out user before anything
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
# Lock the account, not the address: a hospital's workstations share one outgoing address, and
# locking it would lock out every colleague after one person's five mistakes.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# A lockout under /api/ answers JSON; pages the template above (radiopharmacy/core/lockout.py).
AXES_LOCKOUT_CALLABLE = "radiopharmacy.core.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]  # masked in its logs
# Electronic signatures re-authenticate through the same lockout (radiopharmacy/core/signing.py):
# log-in failures and signature failures (password or one-time code) count together.

# Qualified persons sign with a one-time code (TOTP) besides their password (SPEC §2.8): on in
# production, off in the demo and on a development machine (DEBUG). Each enrols an authenticator
# app at /account/two-factor/.
GALLIUM_SIGNATURE_OTP = env.bool("SIGNATURE_OTP", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Gallium")

# API tokens (django-rest-knox): stored hashed, valid API_TOKEN_TTL_HOURS, deleted by
# POST auth/logout/, by a password change, a deactivation and a lockout; clients send
# `Authorization: Token <t>`.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.float("API_TOKEN_TTL_HOURS", default=10)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": None,
}

# Idle timeout: the session lives 15 minutes after the person's last request. Background
# refreshes (the batch pages' 30 s poll) do not count: radiopharmacy/core/sessions.py records the
# activity and saves the session, so it is not saved on every request.
SESSION_COOKIE_AGE = 15 * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads nothing from it: the token is in a meta tag instead

# --- Security (production: DEBUG off) -------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Cookies go over HTTPS only in production; SECURE_COOKIES=0 lets a loopback HTTP client log in
# with DEBUG off (the load test against gunicorn, `make loadtest`), never a deployment.
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Nothing comes from another host: every script, style and font is ours.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Swagger UI and Chart.js set inline styles.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Internationalisation and time ----------------------------------------------------------
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True  # UTC in the database
TIME_ZONE = SITE_TIME_ZONE  # the site's zone, used only at the edges (display, forms, batch dates)

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated API call then answers 401 with WWW-Authenticate.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["radiopharmacy.core.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "radiopharmacy.core.apibase.Pagination",
    "PAGE_SIZE": 25,  # `page_size` asks for more, up to 500 (core.apibase.Pagination)
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "radiopharmacy.core.apibase.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gallium API",
    "DESCRIPTION": "Ga-68 DOTATATE production, QC, release and dispensing. Activities in MBq, "
    "volumes in mL, datetimes ISO 8601 with an offset (a naive datetime is a 400).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Record ids in paths (`<id:pk>`, radiopharmacy/core/urlconverters.py): integers of at most
    # 18 digits.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}
    },
}
# Status enums of several records share the field name "status": name each one.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "BatchStatusEnum": "radiopharmacy.choices.BatchStatus",
        "GeneratorStatusEnum": "radiopharmacy.choices.GeneratorStatus",
        "DeviationStatusEnum": "qc.models.results.Deviation.Status",
        "DeviationKindEnum": "qc.models.results.Deviation.Kind",
        "LimitKindEnum": "qc.models.specs.LimitKind",
    }
)

# --- Logging --------------------------------------------------------------------------------
# Every line carries the request id (X-Request-ID of the response, "-" outside a request); an
# error's traceback follows its line.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "radiopharmacy.core.requestid.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [request %(request_id)s] %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "loggers": {
        "gallium": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
        "gallium.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Every 500 with its traceback, whatever DEBUG says (Django only mails it otherwise).
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# Periodic jobs. Each area adds its entries in its own module's BEAT_SCHEDULE, merged here so
# the whole schedule is in code and changes go through git.
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "radiopharmacy.outbox_sweep", "schedule": 60.0},
    # Hourly the entries since the latest signed checkpoint, daily the whole chain.
    "audit-verify": {"task": "radiopharmacy.audit_verify", "schedule": 3600.0},
    "audit-verify-full": {
        "task": "radiopharmacy.audit_verify",
        "schedule": 86400.0,
        "kwargs": {"full": True},
    },
    # A signed checkpoint of the audit chain's head, outside the database (when it moved).
    "audit-checkpoint": {"task": "radiopharmacy.audit_checkpoint", "schedule": 600.0},
    "audit-review-overdue": {"task": "radiopharmacy.audit_review_overdue", "schedule": 3600.0},
    "generator-warnings": {"task": "radiopharmacy.generator_warnings", "schedule": 3600.0},
}
# QC deadlines and batch expiry (qc/tasks.py).
CELERY_BEAT_SCHEDULE.update(
    {
        "qc-sterility-overdue": {"task": "qc.sterility_overdue", "schedule": 900.0},
        "qc-breakthrough-overdue": {"task": "qc.breakthrough_overdue", "schedule": 3600.0},
        "qc-batch-expiry": {"task": "qc.batch_expiry", "schedule": 60.0},
        "qc-capa-overdue": {"task": "qc.capa_overdue", "schedule": 3600.0},
        "qc-trends-check": {"task": "qc.trends_check", "schedule": 900.0},  # out of trend
    }
)
# Planned runs against the recorded batches; a failed run re-plans the day (scheduling/tasks.py).
CELERY_BEAT_SCHEDULE["scheduling-sync-planned-runs"] = {
    "task": "scheduling.sync_planned_runs",
    "schedule": 300.0,
}
