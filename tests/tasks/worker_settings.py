"""Settings of the Celery worker that the fault tests start as a process of its own: the test
settings, with email written to files (EMAIL_BACKEND and EMAIL_FILE_PATH from the environment)
and a task whose worker died handed out again within seconds, not minutes."""

from config.settings.test import *  # noqa: F403
from config.settings.test import CELERY_BROKER_TRANSPORT_OPTIONS, env

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    # Look for abandoned tasks every second (the visibility timeout comes from the environment).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
