"""The demo: SQLite file, tasks in-process, email to the console. Not for real data."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = SECRET_KEY or "demo-only-key-not-for-real-data-0a9f3c2e7b1d4e6f8a0b2c4d6e8f0a1b"  # noqa: F405
# The demo's identities are made up; real data needs real keys in IDENTITY_KEYS.
IDENTITY_KEYS = IDENTITY_KEYS or ["ZGVtby1vbmx5LWtleS1ub3QtZm9yLXJlYWwtZGF0YSE="]  # noqa: F405
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# The demo's accounts are enrolled with known TOTP secrets (seed_demo prints them), but the
# second factor is not asked for unless TWO_FACTOR_WAIVED=0; the sign-in page says so.
TWO_FACTOR_WAIVED = env.bool("TWO_FACTOR_WAIVED", default=True)

# Static files straight from the source folders; collectstatic is for production.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The site's own 404 page rather than Django's technical one (which lists the URL patterns).
MIDDLEWARE = [*MIDDLEWARE, "config.errors.StyledNotFoundMiddleware"]  # noqa: F405
