"""Settings shared by every environment. Values come from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "config.apps.TrialAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "outbox",
    "audit",
    "trial",
    "sites",
    "randomisation",
    "crf",
    "lock",
    "safety",
    "dataset",
    "reports",
    "review",
    "worklist",
    "api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "api.middleware.ApiErrorShapeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.NoStoreMiddleware",
    # A lost connection to PostgreSQL answers 503 "nothing was saved; try again" on a page.
    "core.middleware.DatabaseLostMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which second-factor device verified this session; then the gate that sends a user who
    # must pass one to the enrolment or code page (config/second_factor.py).
    "django_otp.middleware.OTPMiddleware",
    "config.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sites.context_processors.roles",
                "worklist.context_processors.waiting",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'reconnect.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo's page reads go on while a write commits.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL;")
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: this system's queries are short (a page's reads, a report's
    # aggregates), and compiling a report's plan cost more than running it (measured on the
    # reports bench: 770 ms of a 1 s query).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
    # Connections kept between requests (CONN_MAX_AGE seconds; production keeps them 60 s)
    # are checked before each request's first query, so one that a restart of the server
    # dropped is replaced instead of failing the request.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
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
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Thirty minutes idle ends a session: each request pushes the expiry on.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# django-axes: five failures for a username locks it for thirty minutes. Locking by
# username alone, not by address: NHS sites share one outgoing address.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes warns that username-only locking ignores the address; that is the choice above.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "api.auth.lockout_response"
AXES_VERBOSE = False

# Two-factor sign-in (django-otp): TOTP from an authenticator app, with single-use recovery
# codes. Required for the roles in core.roles.SECOND_FACTOR_ROLES, offered to the rest.
# A waiver (the demo, the test suite) turns the requirement off; a system check refuses it
# with DEBUG off (sites/checks.py), and production refuses it outright.
TWO_FACTOR_WAIVED = env.bool("TWO_FACTOR_WAIVED", default=False)
OTP_TOTP_ISSUER = "ReConnect trial manager"
# After each wrong code the next is refused for 1, 2, 4, 8 ... seconds.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# What must hold before a family is randomised, checked in this order. Each is a function
# (family, date) that raises the domain error naming what is missing.
RANDOMISATION_PRECONDITIONS = [
    "randomisation.preconditions.eligible_and_enrolled",
    "randomisation.preconditions.consented_on_the_current_version",
    "randomisation.preconditions.not_withdrawn",
    "randomisation.preconditions.site_active",
    "crf.preconditions.baseline_complete",
]
# How each kind of stratification factor a trial definition may name is read and listed
# (randomisation.factor_kinds.FactorKind); the eCRF's reads an answer on a baseline form.
RANDOMISATION_FACTOR_KINDS = {
    "site": "randomisation.factor_kinds.SiteFactor",
    "record_field": "randomisation.factor_kinds.RecordField",
    "age_band": "randomisation.factor_kinds.AgeBandAtReferral",
    "form_answer": "crf.factor_kinds.BaselineAnswer",
}

# What a site needs before it is activated, besides its principal investigator. Each is a
# class (sites.activation.ActivationCheck) giving the site page its checklist lines and
# refusing, or completing, each status step.
SITE_ACTIVATION_CHECKS = [
    "randomisation.activation.LiveListForSite",
]

# A reason for a change is a real explanation, not a label: text, not varchar(100).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "api.openapi.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# A token lives 10 hours from sign-in, however much it is used (no refresh); a password
# change, a disabled account or a lockout revokes every token of the user at once.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=10),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ReConnect trial manager API",
    "DESCRIPTION": (
        "Runs a multi-site randomised controlled trial. Every write goes through the same "
        "services, scoping and audit as the pages. Errors share one JSON shape: "
        '{"error": {"code", "message", "fields": {field: [messages]}}}.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "core.roles.Role",
        "DeviationKindEnum": "trial.models.deviation.ProtocolDeviation.Kind",
        "DeviationSeverityEnum": "trial.models.deviation.ProtocolDeviation.Severity",
        "SiteStatusEnum": "sites.models.SiteStatus",
        "DutyEnum": "core.roles.Duty",
        "RandomisationModeEnum": "randomisation.models.Mode",
        "ConsentMethodEnum": "trial.models.consent.ConsentRecord.Method",
        "DesignMethodEnum": ["blocks", "minimisation"],
        "ProjectionStatusEnum": ["reached", "no_recent", "projected"],
        "JobStatusEnum": "dataset.models.Export.Status",
    },
}

# Keys for identifying data at rest (trial/crypto.py): Fernet keys, newest first.
IDENTITY_KEYS = env.list("IDENTITY_KEYS", default=[])
# Keys printed in this repository (demo and tests): never acceptable for real data.
PUBLISHED_IDENTITY_KEYS = {
    "ZGVtby1vbmx5LWtleS1ub3QtZm9yLXJlYWwtZGF0YSE=",
    "dGVzdC1vbmx5LWtleS1mb3ItdGhlLXRlc3Qtc3VpdGU=",
}

# Where analysis export bundles are written (kept: each is recorded in the ledger).
EXPORT_ROOT = Path(env.str("EXPORT_ROOT", default=str(VAR_DIR / "exports")))
# Where the DMC reports' PDF files are written (kept: each is recorded in the ledger).
REPORT_ROOT = Path(env.str("REPORT_ROOT", default=str(VAR_DIR / "reports")))
# The ledger's head is appended here each night (one file a day); ship the files elsewhere.
# How ledger events are sealed into the chain on PostgreSQL (audit/sealing.py): "batched"
# (no installation-wide lock on the write path) or "inline" (each append locks the head).
# SQLite always seals inline.
LEDGER_SEALING = env.str("LEDGER_SEALING", default="batched")
LEDGER_HEAD_DIR = Path(env.str("LEDGER_HEAD_DIR", default=str(VAR_DIR / "ledger-heads")))
# Where `manage.py backup` writes its dumps and their manifests.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))

# Figures kept between views (sites.kept, the work list's counts): shared by every web
# worker with Redis (e.g. redis://127.0.0.1:6379/1), one memory per process otherwise.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://reconnect")}
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # A 100-site report keeps a hundred entries for each way of viewing it.
    CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = 20_000

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# With no broker, tasks run in-process at once: the demo needs no server.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# A task whose worker died (killed, out of memory) goes back on the queue, to run again: every
# task is idempotent (outbox/services.py, sites/notifications.py).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task taken but not acknowledged within this many seconds (its worker died with it) is
    # given to another worker. Longer than the longest task (a DMC report PDF, goal 30 s; an
    # export bundle, a minute or two), or a slow task would run twice at once.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=15 * 60),
    # A broker that does not answer costs a request half a second, not minutes (the outbox
    # keeps the task for later).
    "socket_connect_timeout": 0.5,
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Batched sealing: events whose writer's nudge did not run are sealed within seconds.
    "ledger-seal": {
        "task": "review.tasks.ledger_seal",
        "schedule": timedelta(seconds=10),
    },
    "audit-verify-nightly": {
        "task": "review.tasks.audit_verify_nightly",
        "schedule": crontab(hour=2, minute=30),
    },
    # The ledger's head, published outside the database after the night's verification.
    "ledger-head-nightly": {
        "task": "review.tasks.ledger_head_publish_nightly",
        "schedule": crontab(hour=2, minute=45),
    },
    # Each site's coordinators hear of their overdue forms at the start of the working day.
    "crf-overdue-daily": {
        "task": "crf.tasks.remind_overdue",
        "schedule": crontab(hour=7, minute=0),
    },
    # Possible serious breaches due within two days or overdue, to the trial managers and the
    # chief investigators: one email a deviation a day.
    "serious-breaches-daily": {
        "task": "trial.tasks.remind_serious_breaches",
        "schedule": crontab(hour=7, minute=5),
    },
    # Tasks queued while the broker was down, published once it is back (outbox/services.py).
    "outbox-sweep": {
        "task": "outbox.tasks.sweep_outbox",
        "schedule": timedelta(minutes=1),
    },
    # The reports' figures for the new day, counted before anyone looks (reports.nightly;
    # with a cache shared by the web workers, CACHE_URL).
    "report-figures-nightly": {
        "task": "reports.tasks.keep_report_figures",
        "schedule": crontab(hour=0, minute=5),
    },
    # The forms due at each site for the new day, worked out before anyone looks (crf.due).
    "forms-due-nightly": {
        "task": "crf.tasks.keep_forms_due_nightly",
        "schedule": crontab(hour=0, minute=10),
    },
    # Safety steps due within the day or overdue: the 24-hour clock needs more than a daily
    # look; each reminder goes at most once a day per step.
    "safety-due-hourly": {
        "task": "safety.tasks.remind_safety_due",
        "schedule": crontab(minute=15),
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
# For django.core.mail.backends.filebased.EmailBackend: one file per email, in this folder.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "emails"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="reconnect-trial@localhost")
# Where the service is reached, for links in emails sent by background tasks.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        # WeasyPrint and fontTools log each step of a PDF at INFO: noise, not news.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): the pages run only the project's own scripts and
# stylesheets, from its own origin; nothing inline, nothing fetched from elsewhere, never framed.
# The API's documentation pages relax it for themselves only (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
