"""A new installation's first step: the first trial manager and their trial, together."""

from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.history import stamp
from audit.ledger import diff, record, snapshot
from core.channels import Channel
from core.errors import Conflict, TrialError
from core.roles import Role
from sites.accounts import checked_password, checked_username
from sites.memberships import MEMBERSHIP_FIELDS
from sites.models import Membership

from .definition import read_definition
from .models import Trial
from .services import TRIAL_FIELDS


@transaction.atomic(durable=True)
def trial_bootstrap(
    *,
    path: Path | str,
    username: str,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    starts_on: date | None = None,
) -> Trial:
    """Load a trial that does not exist yet and make its first trial manager. Run only from
    a management command on the server: nobody is above the first trial manager."""
    data, digest = read_definition(path)
    section = data["trial"]
    if Trial.objects.filter(code=section["code"]).exists():
        raise Conflict(f"Trial {section['code']} already exists; reload it with trial_load.")
    user_model = get_user_model()
    username = checked_username(username)
    if user_model.objects.filter(username__iexact=username).exists():
        raise TrialError(f"The username {username} is taken.", field="username")
    manager = user_model(username=username, email=email, first_name=first_name, last_name=last_name)
    manager.set_password(checked_password(password, manager))
    # The first account has nobody above it: its history names no user, its ledger event
    # names itself.
    stamp(manager, actor=None, reason="first trial manager of a new installation").save()
    record(
        event=EventType.ACCOUNT_CREATED,
        actor=manager,
        channel=Channel.COMMAND,
        obj=manager,
        changes={f: [None, getattr(manager, f)] for f in ("username", "email")},
        reason="first trial manager of a new installation",
    )
    trial = Trial(
        code=section["code"],
        short_name=section["short_name"].strip(),
        name=" ".join(section["name"].split()),
        sponsor=section["sponsor"].strip(),
        definition=data,
        definition_source=Path(path).read_text(encoding="utf-8"),
        definition_sha256=digest,
        loaded_at=timezone.now(),
    )
    stamp(trial, actor=manager).save()
    record(
        event=EventType.CREATE,
        actor=manager,
        channel=Channel.COMMAND,
        obj=trial,
        changes=diff({}, snapshot(trial, TRIAL_FIELDS)),
        reason=f"loaded from {Path(path).name}",
    )
    membership = Membership(
        user=manager,
        trial=trial,
        role=Role.TRIAL_MANAGER,
        starts_on=starts_on or timezone.localdate(),
        granted_by=None,
    )
    stamp(membership, actor=manager).save()
    record(
        event=EventType.MEMBERSHIP_GRANTED,
        actor=manager,
        channel=Channel.COMMAND,
        obj=membership,
        changes=diff({}, snapshot(membership, MEMBERSHIP_FIELDS)),
    )
    return trial
