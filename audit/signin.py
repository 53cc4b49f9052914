"""Sign-in, sign-out, failed sign-in and lockout into the ledger.

Django and django-axes announce these only through signals, so these receivers are
thin: they name the channel and call the ledger; they hold no other rule.
"""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from core.channels import Channel

from .events import EventType
from .ledger import record


def channel_of(request) -> Channel:
    # path_info: the path within the application, whatever prefix it is served under.
    path = getattr(request, "path_info", "") or ""
    if path.startswith("/api/"):
        return Channel.API
    if path.startswith("/admin/"):
        return Channel.ADMIN
    return Channel.WEB


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs) -> None:
    with transaction.atomic():
        record(event=EventType.SIGN_IN, actor=user, channel=channel_of(request), obj=user)


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs) -> None:
    if user is None:  # the session had already expired
        return
    with transaction.atomic():
        record(event=EventType.SIGN_OUT, actor=user, channel=channel_of(request), obj=user)


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", ""))[:150]
    with transaction.atomic():
        record(
            event=EventType.SIGN_IN_FAILED,
            actor=None,
            actor_username=username,
            channel=channel_of(request),
        )


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs) -> None:
    with transaction.atomic():
        record(
            event=EventType.LOCKOUT,
            actor=None,
            actor_username=str(username or "")[:150],
            channel=channel_of(request),
        )
