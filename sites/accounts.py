"""Services for user accounts: create, change a password, disable and enable. Roles are
granted separately (memberships). API tokens never outlive the password they were issued
under, a disabled account or a lockout."""

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from knox.models import AuthToken

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from core.channels import Channel
from core.errors import Conflict, TrialError, refused_if_duplicate
from core.roles import Role

from .permissions import require_role

if TYPE_CHECKING:
    from trial.models import Trial

User = get_user_model()


USERNAME_RULE = (
    "A username is 1 to 150 letters, digits and the characters . @ + - _ (no spaces), "
    "e.g. jo.bloggs."
)


def checked_username(username: str | None) -> str:
    """The username, or a refusal naming the field: Django's username rule on every path
    that makes an account (page, API, admin, bootstrap)."""
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise TrialError(USERNAME_RULE, field="username")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise TrialError(USERNAME_RULE, field="username") from exc
    return username


def checked_password(password: str, user, *, field: str = "password") -> str:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise TrialError(" ".join(exc.messages), field=field) from exc
    return password


def tokens_revoke(*, user, actor, channel: Channel, why: str, actor_role="") -> int:
    """Revoke every API token of the user, in the caller's transaction, and record it."""
    revoked, _ = AuthToken.objects.filter(user=user).delete()
    if revoked:
        record(
            event=EventType.TOKENS_REVOKED,
            actor=actor,
            actor_username="" if actor else f"system:{channel}",
            channel=channel,
            obj=user,
            changes={"tokens": [revoked, 0]},
            reason=why,
            actor_role=actor_role,
        )
    return revoked


def save_new_account(
    *, actor, username: str, email: str, first_name: str, last_name: str, password: str | None
) -> "User":
    """Check and save a new account, inside the caller's transaction: a free username, a
    valid email, and the password checked (None: no password yet, as for an invitation)."""
    username = checked_username(username)
    taken = f"The username {username} is taken."
    if User.objects.filter(username__iexact=username).exists():
        raise TrialError(taken, field="username")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise TrialError("Enter a valid email address.", field="email") from exc
    user = User(
        username=username,
        email=email.strip(),
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(checked_password(password, user))
    with refused_if_duplicate(taken, field="username"):
        stamp(user, actor=actor).save()
    return user


@transaction.atomic(durable=True)
def account_create(
    *,
    actor,
    channel: Channel,
    trial: "Trial | None",
    username: str,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    bootstrap: bool = False,
) -> "User":
    """Create an account. Only a trial manager may, except the bootstrap of a new
    installation from a management command (the first trial manager has no one above)."""
    if bootstrap:
        if channel != Channel.COMMAND:
            raise TrialError("Accounts are bootstrapped only from a management command.")
    else:
        held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    user = save_new_account(
        actor=actor,
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        password=password,
    )
    record(
        event=EventType.ACCOUNT_CREATED,
        actor=actor,
        channel=channel,
        obj=user,
        actor_username="" if actor else f"system:{channel}",
        # The password never enters the ledger, not even hashed.
        changes={
            f: [None, getattr(user, f)] for f in ("username", "email", "first_name", "last_name")
        },
        actor_role=held,
    )
    return user


@transaction.atomic(durable=True)
def password_change(*, user, old_password: str, new_password: str, channel: Channel) -> int:
    """A user changes their own password: the old one re-entered, the new one checked.
    Every API token issued before is revoked; returns how many."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password or ""):
        raise TrialError("Your current password is not correct.", field="old_password")
    if new_password == old_password:
        raise TrialError("Choose a password you have not just used.", field="new_password")
    user.set_password(checked_password(new_password, user, field="new_password"))
    stamp(user, actor=user, reason="password changed").save()
    record(event=EventType.PASSWORD_CHANGED, actor=user, channel=channel, obj=user)
    return tokens_revoke(user=user, actor=user, channel=channel, why="password changed")


@transaction.atomic(durable=True)
def account_set_active(*, actor, channel: Channel, trial: "Trial", user, active: bool, reason: str):
    """Disable an account (a leaver, a lost device) or enable it again: by the trial manager,
    with a reason. Disabling revokes its API tokens and ends its sessions' use at once."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    user = User.objects.select_for_update().get(pk=user.pk)
    reason = (reason or "").strip()
    if not reason:
        raise TrialError("Say why the account is disabled or enabled.", field="reason")
    if user.is_active == active:
        state = "enabled" if active else "disabled"
        raise Conflict(f"{user.get_username()}'s account is already {state}.", field="active")
    if not active and user.pk == actor.pk:
        raise TrialError("You cannot disable your own account.", field="active")
    user.is_active = active
    stamp(user, actor=actor, reason=reason).save()
    record(
        event=EventType.ACCOUNT_ENABLED if active else EventType.ACCOUNT_DISABLED,
        actor=actor,
        channel=channel,
        obj=user,
        changes={"is_active": [not active, active]},
        reason=reason,
        actor_role=held,
    )
    if not active:
        tokens_revoke(
            user=user, actor=actor, actor_role=held, channel=channel, why="account disabled"
        )
    return user


@transaction.atomic
def lockout_revoke_tokens(*, username: str, channel: Channel) -> int:
    """A locked-out username (too many failed sign-ins: perhaps someone guessing) loses its
    API tokens at once, so a stolen token does not outlast the lockout's warning."""
    user = User.objects.filter(username=username).first()
    if user is None:
        return 0
    return tokens_revoke(user=user, actor=None, channel=channel, why="sign-in locked out")
