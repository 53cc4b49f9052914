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
    "simple_history",
    "axes",
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
    "api.middleware.ApiErrorShapeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
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

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# With no broker, tasks run in-process at once: the demo needs no server.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "audit-verify-nightly": {
        "task": "review.tasks.audit_verify_nightly",
        "schedule": crontab(hour=2, minute=30),
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
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
