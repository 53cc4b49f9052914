"""System checks of the sign-in settings."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def second_factor_not_waived(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The waiver of the second factor is for the demo (DEBUG on) and the test suite (which
    silences this check): a server with DEBUG off must ask for it."""
    if getattr(settings, "TWO_FACTOR_WAIVED", False) and not settings.DEBUG:
        return [
            checks.Error(
                "TWO_FACTOR_WAIVED is on with DEBUG off: the second factor would not be asked "
                "of the roles that see identity or an arm.",
                hint="Unset TWO_FACTOR_WAIVED (or set it to 0) outside the demo.",
                id="sites.E201",
            )
        ]
    return []
