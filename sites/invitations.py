"""Accounts that reach their owner by email: the trial manager invites a user (a one-time
link to set a password), anyone resets a forgotten password the same way, and the trial
manager unlocks an account locked out by failed sign-ins. Each is in the ledger; the link
itself never is (nor in the kept copy of the email)."""

from typing import TYPE_CHECKING

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from audit.reasons import given
from core.channels import Channel
from core.errors import Conflict, TrialError
from core.roles import Role

from .accounts import User, checked_password, save_new_account, tokens_revoke
from .notifications import notify
from .permissions import require_role

if TYPE_CHECKING:
    from trial.models import Trial

LINK_WITHHELD = "[the one-time link is not kept]"


def set_password_link(user, base_url: str) -> str:
    """A one-time link: it stops working once the password is set (the token is made from
    the password hash) or after PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse("password-set", args=[uid, token])


def _send_link(*, user, subject: str, opening: str, base_url: str, actor) -> None:
    link = set_password_link(user, base_url)
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    body = (
        f"{opening}\n\nYour username is {user.get_username()}. Set your password here "
        f"(the link works once, for {hours} hours):\n\n{{link}}\n\n"
        "If you did not expect this email, ignore it."
    )
    notify(
        recipients=[user.email],
        subject=subject,
        body=body.format(link=LINK_WITHHELD),
        sent_body=body.format(link=link),
        site=None,
        actor=actor,
    )


@transaction.atomic(durable=True)
def account_invite(
    *,
    actor,
    channel: Channel,
    trial: "Trial",
    username: str,
    email: str,
    base_url: str,
    first_name: str = "",
    last_name: str = "",
):
    """Create an account with no password and email its owner a link to set one."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    user = save_new_account(
        actor=actor,
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        password=None,
    )
    record(
        event=EventType.ACCOUNT_INVITED,
        actor=actor,
        channel=channel,
        obj=user,
        changes={
            f: [None, getattr(user, f)] for f in ("username", "email", "first_name", "last_name")
        },
        actor_role=held,
    )
    _send_link(
        user=user,
        subject=f"[{trial.short_name}] You are invited to the trial manager",
        opening=(
            f"{actor.get_full_name() or actor.get_username()} has made you an account on the "
            f"{trial.short_name} trial manager."
        ),
        base_url=base_url,
        actor=actor,
    )
    return user


@transaction.atomic(durable=True)
def password_reset_request(*, email: str, channel: Channel, base_url: str) -> int:
    """Email a link to set a new password to each active account with this address. The
    answer is the same whether or not there is one, so no one learns who has an account."""
    users = list(User.objects.filter(email__iexact=(email or "").strip(), is_active=True))
    for user in users:
        record(
            event=EventType.PASSWORD_RESET_REQUESTED,
            actor=user,
            channel=channel,
            obj=user,
            changes={"email": [None, user.email]},
        )
        _send_link(
            user=user,
            subject="Reset your password for the trial manager",
            opening="Someone (we hope you) asked to reset your password.",
            base_url=base_url,
            actor=user,
        )
    return len(users)


def user_of_link(uidb64: str, token: str):
    """The account a link is for, or None when the link is wrong, used or expired."""
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    if not user.is_active or not default_token_generator.check_token(user, token):
        return None
    return user


EXPIRED = "This link has expired or was used already: ask for a new one."


@transaction.atomic(durable=True)
def password_set_by_link(*, uidb64: str, token: str, password: str, channel: Channel):
    """Set a password from an emailed link: the link then stops working, API tokens issued
    before are revoked, and a lockout is lifted (the owner proved who they are)."""
    user = user_of_link(uidb64, token)
    if user is None:
        raise TrialError(EXPIRED, field="token")
    user = User.objects.select_for_update().get(pk=user.pk)
    user.set_password(checked_password(password, user))
    stamp(user, actor=user, reason="password set from an emailed link").save()
    record(event=EventType.PASSWORD_SET, actor=user, channel=channel, obj=user)
    axes_reset(username=user.get_username())
    tokens_revoke(user=user, actor=user, channel=channel, why="password set from a link")
    return user


def locked_out(user) -> bool:
    return AccessAttempt.objects.filter(
        username=user.get_username(), failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    ).exists()


@transaction.atomic(durable=True)
def account_unlock(*, actor, channel: Channel, trial: "Trial", user, reason: str):
    """Lift a lockout (too many failed sign-ins) before it runs out, with a reason."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    reason = given(reason, ask="Say why the account is unlocked.")
    if not locked_out(user):
        raise Conflict(f"{user.get_username()}'s account is not locked out.", field="user")
    axes_reset(username=user.get_username())
    record(
        event=EventType.ACCOUNT_UNLOCKED,
        actor=actor,
        channel=channel,
        obj=user,
        changes={"locked_out": [True, False]},
        reason=reason,
        actor_role=held,
    )
    return user
