"""Tells django-simple-history who made a change and why, whatever the channel.

The request middleware only knows page users; API token users, commands and tasks
are known to the service, which stamps the instance before saving it.
"""

from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def stamp(obj: M, *, actor: Any, reason: str = "") -> M:
    obj._history_user = actor
    if reason:
        obj._change_reason = reason
    return obj
