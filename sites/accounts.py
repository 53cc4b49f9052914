"""Service for creating user accounts. Roles are granted separately (memberships)."""

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from audit.events import Channel, EventType
from audit.history import stamp
from audit.ledger import record
from trial.errors import TrialError, refused_if_duplicate
from trial.models import Trial

from .permissions import require_role
from .roles import Role

User = get_user_model()


@transaction.atomic(durable=True)
def account_create(
    *,
    actor,
    channel: Channel,
    trial: Trial | None,
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
        require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise TrialError("Username is required (at most 150 characters).", field="username")
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
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise TrialError(" ".join(exc.messages), field="password") from exc
    user.set_password(password)
    with refused_if_duplicate(taken, field="username"):
        stamp(user, actor=actor).save()
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
    )
    return user
