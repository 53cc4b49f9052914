"""Whether the second factor is waived (the demo), for the sign-in page to say so."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def two_factor_waived() -> bool:
    return bool(settings.TWO_FACTOR_WAIVED)
