"""Shared by management commands: who is acting. Commands name their actor (--as), so
the ledger and the history know who ran them."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def actor_from(username: str):
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist as exc:
        raise CommandError(f"--as: no active account named {username!r}") from exc
