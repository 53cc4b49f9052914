"""Services for the trial itself."""

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.history import stamp
from audit.ledger import diff, record, snapshot
from core.channels import Channel
from core.errors import NotPermitted
from core.roles import Role
from sites.permissions import require_role

from .definition import read_definition
from .models import Trial

TRIAL_FIELDS = ("code", "short_name", "name", "sponsor", "definition_sha256")


@transaction.atomic(durable=True)
def trial_load(*, path: Path | str, actor, channel: Channel) -> Trial:
    """Reload a trial's definition file; only its trial manager may. A new trial is
    loaded by trial_bootstrap, with its first trial manager."""

    data, digest = read_definition(path)
    section = data["trial"]
    trial = Trial.objects.select_for_update().filter(code=section["code"]).first()
    if trial is None:
        raise NotPermitted(
            f"Trial {section['code']} does not exist; a new trial is loaded with trial_bootstrap."
        )
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    before = snapshot(trial, TRIAL_FIELDS)
    trial.short_name = section["short_name"].strip()
    trial.name = " ".join(section["name"].split())
    trial.sponsor = section["sponsor"].strip()
    trial.definition = data
    trial.definition_source = Path(path).read_text(encoding="utf-8")
    trial.definition_sha256 = digest
    trial.loaded_at = timezone.now()
    stamp(trial, actor=actor, reason=f"definition {Path(path).name}").save()
    record(
        event=EventType.TRIAL_LOADED,
        actor=actor,
        channel=channel,
        obj=trial,
        changes=diff(before, snapshot(trial, TRIAL_FIELDS)),
        reason=f"loaded from {Path(path).name}",
        actor_role=held,
    )
    return trial
