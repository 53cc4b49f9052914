"""The trial's clock."""

from datetime import date

from django.utils import timezone


def today() -> date:
    """The trial's calendar date (Europe/London), not the server's UTC date."""
    return timezone.localdate()
