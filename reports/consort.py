"""The CONSORT flow diagram's figures, live (the CONSORT 2025 statement's four stages:
enrolment, allocation, follow-up, analysis).

The scope's date range is on the referral date for the whole diagram: a family counts where
its screening record does. Randomised means an allocation in the trial's current mode. After
randomisation the figures are split by arm only when the viewer may learn arms at every site
in scope (`scope.by_arm`); otherwise they are pooled, and nothing is shown from which an arm's
count follows (no intervention receipt at all: "received ReConnect" pooled would be one arm's
count). Every figure is one SQL aggregate: a handful of queries, whatever the families. The
aggregates are grouped by site and each site's counts kept between views while its data stand
as they were (sites.kept): a view after a change at one site counts that site again, not all.

Each number names its listing (`node`): `assessed`, `excluded`, `not_eligible.<criterion>`,
`declined.<reason>`, `other.<reason>`, `undecided`, `randomised`, and after randomisation
`allocated`, `received`, `not_received`, `ineligible`, `withdrawn[.<level>]`, `lost`,
`analysed`, `not_analysed`, `not_due`, `missing`, each with `.<ARM>` when split by arm. The
conditions behind the numbers (`family_rules`, `screening_rule`) are the listings' too.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Generic, TypeVar
from urllib.parse import urlencode

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.urls import reverse

from crf.models import FormDefinition, NotDone, Response, ResponseStatus
from randomisation.models import Allocation
from sites.kept import kept_by_site
from trial.config import words_of
from trial.models import ProtocolDeviation, ScreeningOutcome, ScreeningRecord, Withdrawal

from . import drawing
from .scope import ReportScope

DONE = (ResponseStatus.COMPLETE, ResponseStatus.VERIFIED)
UNRECORDED = "-"  # the code of a reason left blank
NEVER = Q(pk__isnull=True)
STAGES = {
    "enrolment": "Enrolment",
    "allocation": "Allocation",
    "follow_up": "Follow-up",
    "analysis": "Analysis",
}


# --- What each number counts ---------------------------------------------------------------


def screenings(scope: ReportScope) -> QuerySet[ScreeningRecord]:
    """The referrals assessed for eligibility, each marked whether its family was randomised
    (an allocation in the current mode)."""
    randomised = Allocation.objects.filter(mode=scope.mode).values("family__screening_id")
    return (
        ScreeningRecord.objects.filter(trial=scope.trial, site_id__in=scope.site_ids)
        .filter(scope.dates("referral_date"))
        .annotate(randomised=ExpressionWrapper(Q(pk__in=randomised), output_field=BooleanField()))
    )


def screening_rule(kind: str, code: str = "") -> Q:
    """The referrals behind an enrolment number (on `screenings()`)."""
    excluded = Q(randomised=False)
    reason = "" if code == UNRECORDED else code
    if kind == "assessed":
        return Q()
    if kind == "randomised":
        return Q(randomised=True)
    if kind == "excluded":
        return excluded
    if kind == "undecided":
        return excluded & Q(outcome__in=[ScreeningOutcome.ELIGIBLE, ScreeningOutcome.CONSENTED])
    outcome = {"not_eligible": ScreeningOutcome.NOT_ELIGIBLE, "declined": ScreeningOutcome.DECLINED}
    rule = excluded & Q(outcome=outcome.get(kind, ScreeningOutcome.OTHER))
    if code:
        field = "failed_criterion" if kind == "not_eligible" else "outcome_reason"
        rule &= Q(**{field: reason})
    return rule


def allocations(scope: ReportScope) -> QuerySet[Allocation]:
    """The allocations (current mode) of the families whose referrals are in scope."""
    return Allocation.objects.filter(
        mode=scope.mode,
        family__trial=scope.trial,
        family__screening__site_id__in=scope.site_ids,
    ).filter(scope.dates("family__screening__referral_date"))


def _in(queryset) -> Q:
    """The allocation's family has a row in `queryset`: the rows read once (and hashed), not
    looked for once per family, which on PostgreSQL also keeps the plan cheap enough not to be
    compiled (JIT compiling a plan with a probe per family cost more than running it)."""
    return Q(family_id__in=queryset.values("family_id"))


def _session_keys(scope: ReportScope) -> list[str]:
    """The answer keys of the receipt rule's field (a grid's items) in every version."""
    rule = scope.config.reporting.receipt
    if rule is None:
        return []
    keys: set[str] = set()
    for definition in FormDefinition.objects.filter(trial=scope.trial, form=rule.form):
        found = definition.spec.field(rule.field)
        keys.update(found.slot_keys() if found else [])
    return sorted(keys)


class Truth:
    """A family's fact as a truth value that combines as a `Q` does (`&`, `|`, `~`), so that the
    rules below read the same whether they filter families in SQL or count groups of them."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = bool(value)

    def __and__(self, other: "Truth") -> "Truth":
        return Truth(self.value and other.value)

    def __or__(self, other: "Truth") -> "Truth":
        return Truth(self.value or other.value)

    def __invert__(self) -> "Truth":
        return Truth(not self.value)

    def __bool__(self) -> bool:
        return self.value


T = TypeVar("T", Q, Truth)


@dataclass(frozen=True)
class Facts(Generic[T]):
    """What the numbers after randomisation are made of, for one family: as conditions (`Q`)
    or as the truth for a group of families (`Truth`)."""

    ineligible: T  # an eligibility protocol deviation
    levels: dict[str, T]  # withdrew at this level (the definition's order, widest last)
    done: T  # the primary outcome entered (complete or verified)
    not_done: T  # the primary outcome marked not done
    closed: T  # the primary outcome's window has closed
    sessions: T  # at least one intervention session recorded


@dataclass(frozen=True)
class FamilyRules(Generic[T]):
    """The conditions behind the numbers after randomisation, made of `Facts`."""

    always: T
    ineligible: T
    withdrawn_at: dict[str, T]  # level: withdrawn at it and at no wider level
    withdrawn: T
    analysed: T
    not_done: T
    closed: T
    lost: T
    not_due: T
    not_analysed: T
    missing: T
    sessions: T

    @classmethod
    def of_facts(cls, facts: "Facts[T]", always: T, never: T) -> "FamilyRules[T]":
        levels = list(facts.levels)
        levels_after = {
            key: [facts.levels[w] for w in levels[i + 1 :]] for i, key in enumerate(levels)
        }
        # Each family once, at the widest level it withdrew at.
        withdrawn_at = {
            key: facts.levels[key] & ~_any(wider, never)
            if (wider := levels_after[key])
            else facts.levels[key]
            for key in levels
        }
        complete = facts.levels[levels[-1]] if levels else never
        done, not_done, closed = facts.done, facts.not_done, facts.closed
        not_due = ~done & ~closed & ~not_done & ~complete
        return cls(
            always=always,
            ineligible=facts.ineligible,
            withdrawn_at=withdrawn_at,
            withdrawn=_any(list(facts.levels.values()), never),
            analysed=done,
            not_done=not_done,
            closed=closed,
            lost=~done & ~complete & (not_done | closed),
            not_due=not_due,
            not_analysed=~done,
            missing=~done & ~not_due,
            sessions=facts.sessions,
        )

    def received(self, arm: str, receipt_arm: str) -> T:
        return self.sessions if arm == receipt_arm else ~self.sessions

    def of(self, kind: str, code: str = "") -> T:
        if kind in ("randomised", "allocated"):
            return self.always
        if kind == "withdrawn" and code:
            return self.withdrawn_at[code]
        return getattr(self, kind)


def _any(items: list[T], never: T) -> T:
    if not items:
        return never
    found = items[0]
    for item in items[1:]:
        found = found | item
    return found


def family_facts(scope: ReportScope, *, with_receipt: bool = False) -> Facts[Q]:
    """The facts as conditions on `allocations()`."""
    config = scope.config
    levels = [level.key for level in config.withdrawal_levels or []]
    outcome = config.reporting.primary_outcome
    visit = config.schedule.visit(outcome.visit) if outcome and config.schedule else None
    if outcome and visit:
        done = _in(Response.objects.filter(form=outcome.form, visit=visit.key, status__in=DONE))
        not_done = _in(NotDone.objects.filter(form=outcome.form, visit=visit.key))
        # The window closed when its last day (randomised + day + after) is before today.
        closed = Q(randomised_at__date__lt=scope.on - timedelta(days=visit.day + visit.after))
    else:
        done = not_done = closed = NEVER
    sessions = NEVER
    keys = _session_keys(scope) if with_receipt else []
    if keys and config.reporting.receipt:
        any_session = Q()
        for key in keys:
            any_session |= Q(**{f"values__{key}__gt": 0})
        receipts = Response.objects.filter(
            any_session, form=config.reporting.receipt.form, status__in=DONE
        )
        sessions = _in(receipts)
    return Facts(
        ineligible=_in(ProtocolDeviation.objects.filter(kind="eligibility")),
        levels={key: _in(Withdrawal.objects.filter(level=key)) for key in levels},
        done=done,
        not_done=not_done,
        closed=closed,
        sessions=sessions,
    )


def family_rules(scope: ReportScope, *, with_receipt: bool = False) -> FamilyRules[Q]:
    facts = family_facts(scope, with_receipt=with_receipt)
    return FamilyRules.of_facts(facts, Q(), NEVER)


# --- The report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One number of the diagram and the listing behind it."""

    node: str
    label: str
    count: int
    level: int = 0  # 0 a group, 1 a reason within it


@dataclass(frozen=True)
class ConsortBox:
    stage: str
    key: str
    arm: str  # the arm's code when split by arm, else ""
    head: Figure
    lines: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Consort:
    by_arm: bool
    arms: tuple[tuple[str, str], ...]  # the arms the figures are split by (none when pooled)
    boxes: tuple[ConsortBox, ...]
    query: str  # the filter, for the links

    def stage(self, key: str) -> tuple[ConsortBox, ...]:
        return tuple(b for b in self.boxes if b.stage == key)

    @property
    def stages(self) -> list[tuple[str, str, tuple[ConsortBox, ...]]]:
        return [(key, title, self.stage(key)) for key, title in STAGES.items()]

    def figures(self) -> dict[str, int]:
        """Every number by its node."""
        return {f.node: f.count for b in self.boxes for f in (b.head, *b.lines)}

    def href(self, node: str) -> str:
        url = reverse("report-consort-listing", args=[node])
        return f"{url}?{self.query}" if self.query else url

    @property
    def table(self) -> list[dict]:
        """The figures as the rows of a table, each with its listing's link."""
        arms = dict(self.arms)
        return [
            {
                "stage": STAGES[b.stage],
                "arm_label": arms.get(b.arm, ""),
                "node": f.node,
                "label": f.label,
                "count": f.count,
                "level": f.level,
                "head": f is b.head,
                "href": self.href(f.node),
            }
            for b in self.boxes
            for f in (b.head, *b.lines)
        ]

    def as_dict(self) -> dict:
        def figure(f: Figure) -> dict:
            return {"node": f.node, "label": f.label, "count": f.count, "level": f.level}

        return {
            "by_arm": self.by_arm,
            "arms": [{"code": code, "label": label} for code, label in self.arms],
            "stages": [
                {
                    "key": key,
                    "title": title,
                    "boxes": [
                        {
                            **figure(b.head),
                            "key": b.key,
                            "arm": b.arm,
                            "lines": list(map(figure, b.lines)),
                        }
                        for b in boxes
                    ],
                }
                for key, title, boxes in self.stages
            ],
        }

    def csv_header(self) -> list[str]:
        return ["node", "label", "arm", "count"]

    def csv_rows(self) -> list[list]:
        return [[f.node, f.label, b.arm, f.count] for b in self.boxes for f in (b.head, *b.lines)]

    def flow(self, href: Callable[[str], str] | None = None) -> drawing.Flow:
        """The diagram to draw, each count linked to its listing."""
        link = href or self.href

        def box(b: ConsortBox) -> drawing.Box:
            lines = tuple(drawing.Line(f.label, f.count, link(f.node), f.level) for f in b.lines)
            return drawing.Box(b.head.label, b.head.count, link(b.head.node), lines)

        below = [self.stage(s) for s in ("allocation", "follow_up", "analysis")]
        columns = tuple(drawing.Column(*map(box, trio)) for trio in zip(*below, strict=True))
        enrolment = {b.key: b for b in self.stage("enrolment")}
        split = "split by arm" if self.by_arm else "pooled over the arms"
        return drawing.Flow(
            title="CONSORT flow diagram",
            description=(
                f"{enrolment['assessed'].head.count} referrals assessed for eligibility, "
                f"{enrolment['excluded'].head.count} excluded, "
                f"{enrolment['randomised'].head.count} randomised; the figures after "
                f"randomisation are {split}."
            ),
            assessed=box(enrolment["assessed"]),
            excluded=box(enrolment["excluded"]),
            randomised=box(enrolment["randomised"]),
            columns=columns,
        )

    @property
    def svg(self) -> str:
        return drawing.flow_svg(self.flow())

    @property
    def svg_for_print(self) -> str:
        """The diagram without links: on paper (or in a PDF, away from the site) a listing's
        address leads nowhere."""
        return drawing.flow_svg(self.flow(href=lambda node: ""))


def _labels(defined: dict[str, str], counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(code, label, count) for each reason counted: the definition's order, then others."""
    order = [c for c in defined if c in counts] + sorted(c for c in counts if c not in defined)
    return [
        (c, defined.get(c) or ("No reason recorded" if c == UNRECORDED else c), counts[c])
        for c in order
    ]


# A site's referrals counted by what the enrolment boxes tell apart: (outcome, failed
# criterion, reason, randomised, count).
Screened = tuple[str, str, str, bool, int]


def _screened(scope: ReportScope) -> dict[int, list[Screened]]:
    """Each site's referrals counted by outcome, reason and whether randomised."""
    rows = (
        screenings(scope)
        .values_list("site_id", "outcome", "failed_criterion", "outcome_reason", "randomised")
        .annotate(n=Count("pk"))
        .order_by()
    )
    found: dict[int, list[Screened]] = {}
    for site_id, *counted in rows:
        found.setdefault(site_id, []).append(tuple(counted))
    return found


def _enrolment(scope: ReportScope, screened: list[Screened]) -> list[ConsortBox]:
    groups: dict[str, dict[str, int]] = {"not_eligible": {}, "declined": {}, "other": {}}
    assessed = randomised = undecided = 0
    for outcome, failed_criterion, outcome_reason, was_randomised, n in screened:
        assessed += n
        if was_randomised:
            randomised += n
        elif outcome in (ScreeningOutcome.ELIGIBLE, ScreeningOutcome.CONSENTED):
            undecided += n
        else:
            kind = outcome if outcome in groups else "other"
            code = (failed_criterion if kind == "not_eligible" else outcome_reason) or UNRECORDED
            groups[kind][code] = groups[kind].get(code, 0) + n
    config = scope.config
    defined = {
        "not_eligible": words_of(config)["criteria"],
        "declined": dict(config.decline_reasons or {}),
        "other": dict(config.other_reasons or {}),
    }
    titles = {
        "not_eligible": "Not eligible",
        "declined": "Declined to take part",
        "other": "Not randomised for other reasons",
    }
    lines: list[Figure] = []
    for kind, title in titles.items():
        lines.append(Figure(kind, title, sum(groups[kind].values())))
        lines += [
            Figure(f"{kind}.{code}", label, n, 1)
            for code, label, n in _labels(defined[kind], groups[kind])
        ]
    lines.append(
        Figure("undecided", "Not yet decided (approached, or consented and waiting)", undecided)
    )
    return [
        ConsortBox(
            "enrolment", "assessed", "", Figure("assessed", "Assessed for eligibility", assessed)
        ),
        ConsortBox(
            "enrolment",
            "excluded",
            "",
            Figure("excluded", "Excluded", assessed - randomised),
            tuple(lines),
        ),
        ConsortBox("enrolment", "randomised", "", Figure("randomised", "Randomised", randomised)),
    ]


# Each number after randomisation, by arm ("" when pooled), by name.
Counts = dict[str, dict[str, int]]
SITE = "family__screening__site_id"


def _counts(scope: ReportScope, *, with_receipt: bool) -> dict[int, Counts]:
    """Each site's numbers after randomisation, by arm. The allocations grouped by site and
    by their facts (each fact read once per family, not once for every number it enters),
    every number then summed from the groups by the same rules the listings filter with."""
    facts = family_facts(scope, with_receipt=with_receipt)
    named = {
        "ineligible": facts.ineligible,
        **{f"level{i}": q for i, q in enumerate(facts.levels.values())},
        "done": facts.done,
        "not_done": facts.not_done,
        "closed": facts.closed,
    }
    read = {f"f_{name}": q for name, q in named.items() if q is not NEVER}
    columns = [SITE] + (["arm"] if scope.by_arm else []) + list(read)
    rows = (
        allocations(scope)
        .annotate(
            **{key: ExpressionWrapper(q, output_field=BooleanField()) for key, q in read.items()}
        )
        .values(*columns)
        .annotate(n=Count("pk"))
        .order_by()
    )
    levels = list(facts.levels)
    found: dict[int, Counts] = {}
    for row in rows:
        truth = {name: Truth(bool(row.get(f"f_{name}"))) for name in named}
        rules = FamilyRules.of_facts(
            Facts(
                ineligible=truth["ineligible"],
                levels={key: truth[f"level{i}"] for i, key in enumerate(levels)},
                done=truth["done"],
                not_done=truth["not_done"],
                closed=truth["closed"],
                sessions=Truth(False),  # counted on its own, below
            ),
            Truth(True),
            Truth(False),
        )
        measures = {
            "allocated": rules.always,
            "ineligible": rules.ineligible,
            "withdrawn": rules.withdrawn,
            **{f"withdrawn.{key}": rules.withdrawn_at[key] for key in levels},
            "lost": rules.lost,
            "analysed": rules.analysed,
            "not_due": rules.not_due,
            "missing": rules.missing,
        }
        by_arm = found.setdefault(row[SITE], {})
        got = by_arm.setdefault(row["arm"] if scope.by_arm else "", {})
        for name, holds in measures.items():
            got[name] = got.get(name, 0) + (row["n"] if holds else 0)
    # Sessions enter no other number: a query of their own (by arm only: see `_after`) keeps
    # the receipts' read out of the grouped query, whose plan then stays cheap.
    if facts.sessions is not NEVER and scope.by_arm:
        with_sessions = allocations(scope).filter(facts.sessions).values(SITE, "arm")
        for row in with_sessions.annotate(n=Count("pk")).order_by():
            found.setdefault(row[SITE], {}).setdefault(row["arm"], {})["sessions"] = row["n"]
    return found


@dataclass(frozen=True)
class SiteCounts:
    """One site's share of the diagram: every number is a sum of the sites' shares."""

    screened: tuple[Screened, ...]
    after: Counts


# Changed whenever what a site's kept counts hold changes (sites.kept).
KEPT_AS = 2


def _site_counts(scope: ReportScope) -> dict[int, SiteCounts]:
    receipt = scope.by_arm and scope.config.reporting.receipt is not None
    screened = _screened(scope)
    after = _counts(scope, with_receipt=receipt)
    return {pk: SiteCounts(tuple(screened.get(pk, ())), after.get(pk, {})) for pk in scope.site_ids}


def _kept_counts(scope: ReportScope) -> tuple[list[Screened], Counts]:
    """The scope's referrals counted, and its numbers after randomisation: each site's
    kept while its data stand as they were, the others counted, then summed."""
    receipt = scope.config.reporting.receipt if scope.by_arm else None
    given = (
        KEPT_AS,
        *scope.kept_key(),
        scope.on,
        scope.by_arm,
        # The receipt form's versions name the answers that count as sessions.
        tuple(
            FormDefinition.objects.filter(trial=scope.trial, form=receipt.form)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if receipt
        else (),
    )
    figures = kept_by_site(
        scope.sites, "consort", given, lambda sites: _site_counts(replace(scope, sites=sites))
    )
    screened: list[Screened] = []
    after: Counts = {}
    for site in figures.values():
        screened += site.screened
        for arm, counts in site.after.items():
            summed = after.setdefault(arm, {})
            for name, n in counts.items():
                summed[name] = summed.get(name, 0) + n
    return screened, after


def _after(scope: ReportScope, found: Counts) -> list[ConsortBox]:
    config = scope.config
    receipt = config.reporting.receipt if scope.by_arm else None
    levels = [(level.key, level.label) for level in config.withdrawal_levels or []]
    names = ["allocated", "ineligible", "withdrawn", "lost", "analysed", "not_due", "missing"]
    names += ["sessions", *(f"withdrawn.{key}" for key, _ in levels)]
    groups = list(scope.arms.items()) if scope.by_arm else [("", "")]
    boxes: list[ConsortBox] = []
    for arm, label in groups:
        got = {**dict.fromkeys(names, 0), **found.get(arm, {})}
        at = f".{arm}" if arm else ""
        lines: list[Figure] = []
        if receipt:
            sessions = got["sessions"]
            received = sessions if arm == receipt.given_to else got["allocated"] - sessions
            lines += [
                Figure(f"received{at}", "Received the allocated intervention", received),
                Figure(f"not_received{at}", "Did not receive it", got["allocated"] - received),
            ]
        lines.append(
            Figure(
                f"ineligible{at}",
                "Found ineligible after randomisation (still analysed)",
                got["ineligible"],
            )
        )
        title = f"Allocated to {label}" if arm else "Allocated (all arms together)"
        boxes.append(
            ConsortBox(
                "allocation",
                "allocated",
                arm,
                Figure(f"allocated{at}", title, got["allocated"]),
                tuple(lines),
            )
        )
        follow = [Figure(f"withdrawn{at}", "Withdrew", got["withdrawn"])]
        follow += [
            Figure(f"withdrawn.{key}{at}", text, got[f"withdrawn.{key}"], 1) for key, text in levels
        ]
        boxes.append(
            ConsortBox(
                "follow_up",
                "lost",
                arm,
                Figure(f"lost{at}", "Lost to follow-up", got["lost"]),
                tuple(follow),
            )
        )
        not_analysed = got["allocated"] - got["analysed"]
        analysis = (
            Figure(f"not_analysed{at}", "Not analysed", not_analysed),
            Figure(f"not_due{at}", "Not yet due (window still open)", got["not_due"], 1),
            Figure(f"missing{at}", "Missing", got["missing"], 1),
        )
        boxes.append(
            ConsortBox(
                "analysis",
                "analysed",
                arm,
                Figure(f"analysed{at}", "Analysed for the primary outcome", got["analysed"]),
                analysis,
            )
        )
    return boxes


def consort_of(scope: ReportScope) -> Consort:
    """The diagram's figures for the scope, split by arm only where the viewer may learn arms."""
    screened, after = _kept_counts(scope)
    boxes = _enrolment(scope, screened) + _after(scope, after)
    arms = tuple(scope.arms.items()) if scope.by_arm else ()
    return Consort(
        by_arm=scope.by_arm, arms=arms, boxes=tuple(boxes), query=urlencode(scope.filters())
    )
