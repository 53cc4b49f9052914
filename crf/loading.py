"""Loading form spec files as versioned form definitions."""

import hashlib
from pathlib import Path

from django.db import transaction

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from core.channels import Channel
from core.errors import Conflict
from core.roles import Role
from sites.permissions import require_role
from trial.config import config_of
from trial.models import Trial

from .models import FormDefinition
from .spec import SpecError, read_spec

FORMS_DIR = Path(__file__).resolve().parent / "forms"


def shipped_spec_files() -> list[Path]:
    return sorted(FORMS_DIR.glob("*.yaml")) + sorted(FORMS_DIR.glob("*.json"))


@transaction.atomic(durable=True)
def forms_load(
    *, trial: Trial, paths: list[Path], actor, channel: Channel
) -> list[tuple[FormDefinition, bool]]:
    """Check every file, then load those not yet loaded. A version already loaded with the
    same content is left as it is; with different content it is refused, because responses
    entered on it must keep the form they were entered on. Returns (definition, new)."""
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=trial)
    sources = set(config_of(trial).data_sources)
    specs = []
    for path in paths:
        spec = read_spec(path)  # SpecError names the file and the field
        unknown = sorted(set(spec.sources) - sources)
        if unknown:
            raise SpecError(str(path), "sources", f"'{unknown[0]}' is not one of the trial's")
        specs.append((Path(path), spec))
    loaded = []
    for path, spec in specs:
        digest = hashlib.sha256(spec.source_text.encode()).hexdigest()
        existing = FormDefinition.objects.filter(
            trial=trial, form=spec.form, version=spec.version
        ).first()
        if existing is not None:
            if existing.sha256 != digest:
                raise Conflict(
                    f"{path.name}: {spec.form} version {spec.version} is already loaded with "
                    "different content; give the changed form a new version number.",
                    field="version",
                )
            loaded.append((existing, False))
            continue
        definition = FormDefinition(
            trial=trial,
            form=spec.form,
            version=spec.version,
            title=spec.title,
            file_name=path.name,
            source_text=spec.source_text,
            sha256=digest,
            reveals_arm=spec.reveals_arm,
            repeatable=spec.repeatable,
            loaded_by=actor,
        )
        stamp(definition, actor=actor, reason=f"loaded from {path.name}").save()
        record(
            event=EventType.FORM_LOADED,
            actor=actor,
            channel=channel,
            obj=definition,
            changes={
                "form": [None, spec.form],
                "version": [None, spec.version],
                "sha256": [
                    None,
                    digest,
                ],
            },
            reason=f"loaded from {path.name}",
            actor_role=held,
        )
        loaded.append((definition, True))
    return loaded
