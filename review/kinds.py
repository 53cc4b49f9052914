"""Each kind of audited record: what people call it, how a page's records of that kind are
loaded (one query for them all), how one is named, and how its changes read. A kind missing
here is still shown, by its model's name and its number (review.subjects)."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from audit.models import ReviewSignoff
from core.errors import TrialError
from crf.models import FormDefinition, NotDone, Query, Response, Signature
from dataset.models import AnalysisPlan, Export
from lock.models import DataLock, Freeze
from randomisation.models import Allocation, FactorCorrection, RandomisationList, Stratum
from sites.models import Delegation, Membership, Notification, Site
from trial.config import config_of
from trial.models import (
    ConsentRecord,
    ConsentVersion,
    ConsentVersionSite,
    Family,
    ProtocolDeviation,
    ScreeningRecord,
    Trial,
    Withdrawal,
)

from .naming import Codes, TrialWords, slot_labels

User = get_user_model()
ACCOUNT = User._meta.label


class Context:
    """What names need beyond their own record: the trials' words (all trials in one query,
    the first time a name needs them) and the names of the records loaded so far."""

    def __init__(self) -> None:
        self._trials: dict[int, Trial] | None = None
        self._words: dict[int, TrialWords] = {}
        self.names: dict[str, dict[str, str]] = defaultdict(dict)

    def trials(self) -> dict[int, Trial]:
        if self._trials is None:
            self._trials = {t.pk: t for t in Trial.objects.order_by("pk")}
        return self._trials

    def words(self, trial_id: int | None) -> TrialWords:
        if trial_id not in self._words:
            trial = self.trials().get(trial_id) if trial_id is not None else None
            try:
                self._words[trial_id] = TrialWords.of(config_of(trial)) if trial else TrialWords()
            except TrialError:
                self._words[trial_id] = TrialWords()
        return self._words[trial_id]


class Rule(Mapping):
    """Codes worded by a rule rather than listed: a stratum key, for one."""

    def __init__(self, rule: Callable[[str], str]) -> None:
        self._rule = rule

    def __getitem__(self, key: str) -> str:
        return self._rule(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


Fetch = Callable[[set[int], Context], Iterable[Any]]


@dataclass(frozen=True)
class Kind:
    """One kind of audited record: what people call it, how its records are loaded for a
    page, named, and how their changes read. `refs` names the changed fields that hold
    another record's key, and that record's kind."""

    noun: str
    fetch: Fetch
    name: Callable[[Any, Context], str]
    codes: Callable[[Any, Context], Mapping[str, Codes]] = lambda obj, ctx: {}
    refs: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    spec: Callable[[Any], Any] = lambda obj: None


def _by_pk(model: type[models.Model], *related: str) -> Fetch:
    return lambda ids, ctx: model.objects.filter(pk__in=ids).select_related(*related)


def person(user) -> str:
    return user.get_full_name() or user.username


def _place(membership: Membership) -> str:
    return f"at {membership.site.code}" if membership.site_id else "(whole trial)"


def _visit(ctx: Context, trial_id: int, visit: str, number: int = 1) -> str:
    return ctx.words(trial_id).visit(visit, number)


def _response(r: Response, ctx: Context) -> str:
    where = _visit(ctx, r.family.trial_id, r.visit, r.number)
    return f"{r.definition.title}, {where}, {r.family.identifier}"


def _not_done(ids: set[int], ctx: Context) -> list[NotDone]:
    rows = list(NotDone.objects.filter(pk__in=ids).select_related("family"))
    titles = dict(
        FormDefinition.objects.filter(form__in={r.form for r in rows})
        .order_by("form", "version")
        .values_list("form", "title")
    )
    for r in rows:
        r.form_title = titles.get(r.form, r.form)
    return rows


def _freeze(f: Freeze, ctx: Context) -> str:
    if f.scope == Freeze.Scope.SITE:
        return f"site {f.site.code}"
    if f.scope == Freeze.Scope.CASEBOOK:
        return f"the casebook of {f.family.identifier}"
    return _response(f.response, ctx)


def _trial_codes(pick: Callable[[TrialWords], Codes], *keys: str):
    return lambda obj, ctx: {key: pick(ctx.words(obj.trial_id)) for key in keys}


KINDS: dict[str, Kind] = {
    ACCOUNT: Kind(
        "Account",
        lambda ids, ctx: User.objects.filter(pk__in=ids).only(
            "username", "first_name", "last_name"
        ),
        lambda u, ctx: person(u),
        labels={"tokens": "API tokens", "is_active": "Account active"},
    ),
    "trial.Trial": Kind(
        "Trial",
        lambda ids, ctx: [t for pk, t in ctx.trials().items() if pk in ids],
        lambda t, ctx: t.short_name,
    ),
    "sites.Site": Kind(
        "Site",
        _by_pk(Site),
        lambda s, ctx: f"{s.name} ({s.code})",
        refs={"principal_investigator": ACCOUNT},
    ),
    "sites.Membership": Kind(
        "Role",
        _by_pk(Membership, "user", "site"),
        lambda m, ctx: f"{person(m.user)}, {m.get_role_display()} {_place(m)}",
        refs={"user": ACCOUNT, "trial": "trial.Trial", "site": "sites.Site"},
        labels={"user": "Person"},
    ),
    "sites.Delegation": Kind(
        "Duty",
        _by_pk(Delegation, "membership__user", "membership__site"),
        lambda d, ctx: (
            f"{d.get_duty_display()}, {person(d.membership.user)} {_place(d.membership)}"
        ),
        refs={"membership": "sites.Membership"},
        labels={"membership": "Role"},
    ),
    "sites.Notification": Kind("Email", _by_pk(Notification), lambda n, ctx: n.subject),
    "trial.ScreeningRecord": Kind(
        "Screening",
        _by_pk(ScreeningRecord),
        lambda s, ctx: s.identifier,
        codes=lambda s, ctx: {
            "referrer_type": ctx.words(s.trial_id).referrers,
            "age_band": ctx.words(s.trial_id).age_bands,
            "outcome_reason": ctx.words(s.trial_id).reasons,
            "failed_criterion": ctx.words(s.trial_id).criteria,
            "answers": ctx.words(s.trial_id).criteria,
        },
    ),
    "trial.Family": Kind(
        "Family",
        _by_pk(Family),
        lambda f, ctx: f.identifier,
        codes=_trial_codes(lambda w: w.legal_statuses, "legal_status"),
        labels={"screening": "Screening", "parents": "Parents"},
    ),
    "trial.ConsentVersion": Kind(
        "Consent form",
        _by_pk(ConsentVersion),
        lambda v, ctx: f"version {v.version}",
        codes=_trial_codes(lambda w: w.consent_items, "items"),
    ),
    "trial.ConsentVersionSite": Kind(
        "Consent form in use",
        _by_pk(ConsentVersionSite, "version", "site"),
        lambda v, ctx: f"version {v.version.version} at {v.site.code}",
    ),
    "trial.ConsentRecord": Kind(
        "Consent",
        _by_pk(ConsentRecord, "family", "participant", "version"),
        lambda c, ctx: (
            f"{c.family.identifier}, {c.participant.get_role_display().lower()} "
            f"{c.participant.number}, version {c.version.version}"
        ),
        codes=lambda c, ctx: {"answers": ctx.words(c.family.trial_id).consent_items},
        refs={"taken_by": ACCOUNT, "version": "trial.ConsentVersion"},
    ),
    "trial.Withdrawal": Kind(
        "Withdrawal",
        _by_pk(Withdrawal, "family"),
        lambda w, ctx: w.family.identifier,
        codes=lambda w, ctx: {"level": ctx.words(w.family.trial_id).withdrawal_levels},
    ),
    "trial.ProtocolDeviation": Kind(
        "Protocol deviation",
        _by_pk(ProtocolDeviation, "family"),
        lambda d, ctx: f"{d.family.identifier}, {d.get_kind_display()}",
    ),
    "crf.FormDefinition": Kind(
        "Form",
        _by_pk(FormDefinition),
        lambda d, ctx: f"{d.title}, version {d.version}",
        codes=lambda d, ctx: {"form": {d.form: d.title}},
    ),
    "crf.Response": Kind(
        "Response",
        _by_pk(Response, "family", "definition"),
        _response,
        codes=lambda r, ctx: {
            "visit": ctx.words(r.family.trial_id).visits,
            "form": {str(r.definition): f"{r.definition.title}, version {r.definition.version}"},
        },
        spec=lambda r: r.definition.spec,
    ),
    "crf.Query": Kind(
        "Query",
        _by_pk(Query, "family", "response__definition"),
        lambda q, ctx: (
            f"{slot_labels(q.response.definition.spec).get(q.field, q.field)}, "
            f"{_response(q.response, ctx)}"
        ),
        codes=lambda q, ctx: {"field": slot_labels(q.response.definition.spec)},
        refs={"response": "crf.Response"},
        labels={"field": "Question", "text": "Message"},
    ),
    "crf.Signature": Kind(
        "Casebook signature",
        _by_pk(Signature, "family"),
        lambda s, ctx: f"{s.family.identifier}, signed by {s.signer_name}",
        labels={"responses": "Responses signed"},
    ),
    "crf.NotDone": Kind(
        "Form not done",
        _not_done,
        lambda n, ctx: (
            f"{n.form_title}, {_visit(ctx, n.family.trial_id, n.visit)}, {n.family.identifier}"
        ),
        codes=lambda n, ctx: {
            "form": {n.form: n.form_title},
            "visit": ctx.words(n.family.trial_id).visits,
        },
    ),
    "randomisation.RandomisationList": Kind(
        "Allocation list",
        _by_pk(RandomisationList),
        lambda r, ctx: f"#{r.pk} ({r.get_mode_display().lower()})",
    ),
    "randomisation.Stratum": Kind(
        "Stratum",
        _by_pk(Stratum),
        lambda s, ctx: ctx.words(s.trial_id).stratum(s.key),
        codes=lambda s, ctx: {"stratum": Rule(ctx.words(s.trial_id).stratum)},
    ),
    "randomisation.Allocation": Kind(
        "Allocation",
        _by_pk(Allocation, "family"),
        lambda a, ctx: a.family.identifier,
        codes=lambda a, ctx: {
            "arm": ctx.words(a.family.trial_id).arms,
            "stratum": Rule(ctx.words(a.family.trial_id).stratum),
        },
        labels={"slot": "Place in the stratum's list"},
    ),
    "randomisation.FactorCorrection": Kind(
        "Factor correction",
        _by_pk(FactorCorrection, "allocation__family"),
        lambda c, ctx: c.allocation.family.identifier,
        codes=lambda c, ctx: {c.factor: ctx.words(c.allocation.family.trial_id).levels},
    ),
    "lock.Freeze": Kind(
        "Freeze",
        _by_pk(Freeze, "site", "family", "response__definition", "response__family"),
        _freeze,
        codes=lambda f, ctx: {k: {f.describe(): _freeze(f, ctx)} for k in ("holds", "released")},
    ),
    "lock.DataLock": Kind(
        "Data lock",
        _by_pk(DataLock),
        lambda lk, ctx: f"version {lk.version}",
        codes=_trial_codes(lambda w: w.populations, "population"),
    ),
    "dataset.AnalysisPlan": Kind(
        "Analysis plan",
        _by_pk(AnalysisPlan),
        lambda p, ctx: f"{p.title}, version {p.version}",
    ),
    "dataset.Export": Kind(
        "Analysis export",
        _by_pk(Export, "lock"),
        lambda x, ctx: f"#{x.pk}, {x.describe()}",
    ),
    "audit.ReviewSignoff": Kind(
        "Review sign-off",
        _by_pk(ReviewSignoff, "site"),
        lambda s, ctx: f"{s.site.code}, events #{s.first_seq} to #{s.last_seq}",
        labels={"first_seq": "From event #", "last_seq": "To event #", "events": "Events"},
    ),
}
