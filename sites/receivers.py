"""Django and django-axes announce sign-ins and lockouts only through signals. These
receivers are thin: each calls one service or one update, and holds no other rule."""

from axes.signals import user_locked_out
from django.contrib.auth.models import update_last_login
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

from audit.signin import channel_of

from .accounts import lockout_revoke_tokens


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address=None, **kwargs) -> None:
    lockout_revoke_tokens(username=str(username or "")[:150], channel=channel_of(request))


def _last_login(sender, user, **kwargs) -> None:
    # A plain UPDATE: Django's own receiver saves the whole account, which would add a
    # version to its history at every sign-in (and the sign-in is in the ledger already).
    type(user)._default_manager.filter(pk=user.pk).update(last_login=timezone.now())


def connect() -> None:
    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
    user_logged_in.connect(_last_login, dispatch_uid="sites_last_login")
