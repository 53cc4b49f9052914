"""What one bundle holds: blinded or not, at which lock or ledger position, which forms,
and the one time every file is stamped with (the lock's, never the clock's)."""

from dataclasses import dataclass
from datetime import datetime

from audit.models import AuditEvent
from audit.sealing import sealed_head
from crf.models import FormDefinition
from crf.spec import FormSpec
from lock.models import DataLock
from trial.config import config_of
from trial.models import Trial
from trial.schema import TrialDefinition

from .variables import Variable, form_variables

INTERIM = "interim, not locked"


@dataclass(frozen=True)
class FormPart:
    form: str
    title: str
    specs: tuple[FormSpec, ...]
    variables: tuple[Variable, ...]
    repeatable: bool
    visits: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    trial: Trial
    config: TrialDefinition
    blinded: bool
    lock: DataLock | None
    ledger_seq: int
    ledger_head: str
    as_of: datetime
    forms: tuple[FormPart, ...]

    @property
    def interim(self) -> bool:
        return self.lock is None

    @property
    def state(self) -> str:
        return INTERIM if self.interim else f"locked v{self.lock.version}"

    @property
    def kind(self) -> str:
        return "blinded" if self.blinded else "unblinded"

    @property
    def dates(self) -> str:
        return self.config.analysis.dates

    @property
    def bundle_id(self) -> str:
        """Made from what the bundle holds, so that a re-export has the same id."""
        where = f"interim-seq{self.ledger_seq}" if self.interim else f"lock{self.lock.version}"
        population = f"-{self.lock.population}" if self.lock and self.lock.population else ""
        return f"{self.trial.code}-{self.kind}{population}-{where}"

    @property
    def visit_order(self) -> dict[str, int]:
        order = {v.key: n for n, v in enumerate(self.config.schedule.visits)}
        order[""] = len(order)  # any-time forms after the visits
        return order


def _form_parts(trial: Trial, config: TrialDefinition, *, blinded: bool, only: set[str] | None):
    visits_of: dict[str, list[str]] = {}
    for visit in config.schedule.visits:
        for form in visit.forms:
            visits_of.setdefault(form, []).append(visit.key)
    order = [*visits_of, *(f for f in config.schedule.any_time if f not in visits_of)]
    definitions = FormDefinition.objects.filter(trial=trial).order_by("form", "version")
    by_form: dict[str, list[FormDefinition]] = {}
    for d in definitions:
        by_form.setdefault(d.form, []).append(d)
    parts = []
    for form in order:
        versions = by_form.get(form)
        if not versions or (only is not None and form not in only):
            continue
        if blinded and any(d.reveals_arm for d in versions):
            continue  # an arm-revealing form never leaves in a blinded export
        specs = tuple(d.spec for d in versions)
        visits = tuple(visits_of.get(form, ()))
        parts.append(
            FormPart(
                form=form,
                title=versions[-1].title,
                specs=specs,
                variables=tuple(
                    form_variables(list(specs), dates=config.analysis.dates, visits=visits)
                ),
                repeatable=any(d.repeatable for d in versions),
                visits=visits,
            )
        )
    return tuple(parts)


def scope_of(*, trial: Trial, blinded: bool, lock: DataLock | None) -> Scope:
    """At a lock: the lock's ledger position and time, and the forms it holds. Interim: the
    ledger's head now, and every form."""
    config = config_of(trial)
    if lock is not None:
        seq, head, as_of = lock.ledger_seq, lock.ledger_head, lock.locked_at
        only = set(lock.forms) if lock.forms else None
    else:
        seq, head = sealed_head()
        as_of = AuditEvent.objects.values_list("at", flat=True).get(pos=seq)
        only = None
    return Scope(
        trial=trial,
        config=config,
        blinded=blinded,
        lock=lock,
        ledger_seq=seq,
        ledger_head=head,
        as_of=as_of,
        forms=_form_parts(trial, config, blinded=blinded, only=only),
    )
