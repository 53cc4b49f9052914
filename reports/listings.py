"""The listing behind each number of the CONSORT diagram: the referrals or the randomised
families it counts, by the same conditions as the count (`reports.consort`).

A row shows identifiers (the screening record's, and the family's trial identifier), the
site, the referral and randomisation dates and the coded reason where there is one; never
anyone's identity, never a free-text reason (it could name the intervention), and the arm
only when the viewer may learn arms at every site in scope. A node split by arm asked for by
a viewer who may not see arms is not found, nor is a node the diagram does not have."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, CharField, QuerySet, Value, When
from django.utils import timezone

from core.schema import ARM_CODE_PATTERN, KEY_PATTERN
from trial.config import words_of
from trial.models import ScreeningOutcome

from .consort import (
    UNRECORDED,
    allocations,
    family_rules,
    screening_rule,
    screenings,
)
from .scope import ReportScope

SCREENING_KINDS = {
    "assessed": "Assessed for eligibility",
    "excluded": "Excluded",
    "not_eligible": "Not eligible",
    "declined": "Declined to take part",
    "other": "Not randomised for other reasons",
    "undecided": "Not yet decided",
}
FAMILY_KINDS = {
    "randomised": "Randomised",
    "allocated": "Allocated",
    "received": "Received the allocated intervention",
    "not_received": "Did not receive the allocated intervention",
    "ineligible": "Found ineligible after randomisation",
    "withdrawn": "Withdrew",
    "lost": "Lost to follow-up",
    "analysed": "Analysed for the primary outcome",
    "not_analysed": "Not analysed",
    "not_due": "Not analysed: not yet due (window still open)",
    "missing": "Not analysed: missing",
}
CODED = {"not_eligible", "declined", "other", "withdrawn"}
ARM_ONLY = {"received", "not_received"}  # never pooled: a pooled figure tells an arm's count


@dataclass(frozen=True)
class Node:
    kind: str
    code: str = ""
    arm: str = ""


def node_of(text: str, scope: ReportScope) -> Node | None:
    """The node a listing's name asks for, or None when the diagram has no such node for
    this viewer."""
    kind, *rest = text.split(".")
    arm = rest.pop() if rest and re.fullmatch(ARM_CODE_PATTERN, rest[-1]) else ""
    code = rest.pop() if rest else ""
    if rest or (kind not in SCREENING_KINDS and kind not in FAMILY_KINDS):
        return None
    if code and (kind not in CODED or (not re.fullmatch(KEY_PATTERN, code) and code != UNRECORDED)):
        return None
    levels = {level.key for level in scope.config.withdrawal_levels or []}
    if kind == "withdrawn" and code and code not in levels:
        return None
    if arm and (not scope.by_arm or arm not in scope.arms or kind in SCREENING_KINDS):
        return None
    if kind == "randomised" and arm:
        return None
    if kind in ARM_ONLY and not (arm and scope.config.reporting.receipt):
        return None
    return Node(kind, code, arm)


@dataclass(frozen=True)
class ListingRow:
    screening: str
    family: str
    site: str
    referred_on: date
    randomised_on: date | None
    reason: str
    arm_label: str  # only when the viewer may learn arms


@dataclass(frozen=True)
class Listing:
    node: Node
    title: str
    families: bool  # rows are randomised families (else referrals)
    rows: QuerySet  # of dicts, in a stable order, for paging
    scope: ReportScope

    @property
    def by_arm(self) -> bool:
        return self.scope.by_arm

    def shaped(self, items) -> list[ListingRow]:
        """A page of `rows`, with codes put in words."""
        return [self._row(item) for item in items]

    def _row(self, item: dict) -> ListingRow:
        if not self.families:
            return ListingRow(
                screening=item["identifier"],
                family=item["family__identifier"] or "",
                site=item["site__code"],
                referred_on=item["referral_date"],
                randomised_on=None,
                reason=_screening_reason(self.scope, item),
                arm_label="",
            )
        randomised_on = timezone.localdate(item["randomised_at"])
        arm = self.scope.arms.get(item.get("arm", ""), "") if self.by_arm else ""
        return ListingRow(
            screening=item["family__screening__identifier"],
            family=item["family__identifier"],
            site=item["family__screening__site__code"],
            referred_on=item["family__screening__referral_date"],
            randomised_on=randomised_on,
            reason=_family_reason(self.scope, item.get("why", ""), randomised_on),
            arm_label=arm,
        )


def _screening_reason(scope: ReportScope, item: dict) -> str:
    config = scope.config
    if item["randomised"]:
        return ""
    outcome, reason = item["outcome"], item["outcome_reason"]
    if outcome == ScreeningOutcome.NOT_ELIGIBLE:
        failed = item["failed_criterion"]
        text = words_of(config)["criteria"].get(failed, failed)
        return f"Not eligible: {text}"
    if outcome == ScreeningOutcome.DECLINED:
        said = (config.decline_reasons or {}).get(reason, reason) or "no reason recorded"
        return f"Declined: {said}"
    if outcome == ScreeningOutcome.OTHER:
        return (config.other_reasons or {}).get(reason, reason) or "Other: no reason recorded"
    if outcome == ScreeningOutcome.CONSENTED:
        return "Consented, not yet randomised"
    return "Approached, not yet decided"


def _family_reason(scope: ReportScope, why: str, randomised_on: date) -> str:
    if not why:
        return ""
    levels = {level.key: level.label for level in scope.config.withdrawal_levels or []}
    if why.startswith("level:"):
        return f"Withdrew: {levels.get(why[6:], why[6:])}"
    config = scope.config
    visit = (
        config.schedule.visit(config.reporting.primary_outcome.visit)
        if config.schedule and config.reporting.primary_outcome
        else None
    )
    last = randomised_on + timedelta(days=visit.day + visit.after) if visit else None
    return {
        "not_done": "Primary outcome marked not done",
        "closed": f"Primary outcome window closed on {last:%d %b %Y}" if last else "",
        "open": f"Primary outcome window closes on {last:%d %b %Y}" if last else "",
        "ineligible": "Eligibility protocol deviation",
    }.get(why, "")


def listing_of(scope: ReportScope, text: str) -> Listing | None:
    node = node_of(text, scope)
    if node is None:
        return None
    if node.kind in SCREENING_KINDS:
        rows = (
            screenings(scope)
            .filter(screening_rule(node.kind, node.code))
            .values(
                "identifier",
                "site__code",
                "referral_date",
                "outcome",
                "failed_criterion",
                "outcome_reason",
                "randomised",
                "family__identifier",
            )
            .order_by("referral_date", "identifier")
        )
        return Listing(node, _title(scope, node), False, rows, scope)
    receipt = scope.config.reporting.receipt
    rules = family_rules(scope, with_receipt=node.kind in ARM_ONLY)
    if node.kind in ARM_ONLY and receipt:
        condition = rules.received(node.arm, receipt.given_to)
        condition = condition if node.kind == "received" else ~condition
    else:
        condition = rules.of(node.kind, node.code)
    rows = allocations(scope).filter(condition)
    if node.arm:
        rows = rows.filter(arm=node.arm)
    rows = rows.annotate(why=_why(scope, node, rules))
    fields = [
        "family__identifier",
        "family__screening__identifier",
        "family__screening__site__code",
        "family__screening__referral_date",
        "randomised_at",
        "why",
    ]
    if scope.by_arm:
        fields.append("arm")
    rows = rows.values(*fields).order_by("randomised_at", "family__identifier")
    return Listing(node, _title(scope, node), True, rows, scope)


def _why(scope: ReportScope, node: Node, rules) -> Case | Value:
    """A coded reason per row, where the node has one."""
    text = CharField()
    if node.kind == "withdrawn":
        levels = [level.key for level in scope.config.withdrawal_levels or []]
        return Case(
            *[When(rules.withdrawn_at[key], then=Value(f"level:{key}")) for key in levels],
            default=Value(""),
            output_field=text,
        )
    if node.kind in ("lost", "missing", "not_analysed"):
        levels = [level.key for level in scope.config.withdrawal_levels or []]
        whens = [When(rules.analysed, then=Value(""))]
        if levels:
            whens.append(When(rules.withdrawn_at[levels[-1]], then=Value(f"level:{levels[-1]}")))
        whens += [
            When(rules.not_done, then=Value("not_done")),
            When(rules.closed, then=Value("closed")),
        ]
        return Case(*whens, default=Value("open"), output_field=text)
    if node.kind == "not_due":
        return Value("open", output_field=text)
    if node.kind == "ineligible":
        return Value("ineligible", output_field=text)
    return Value("", output_field=text)


def _title(scope: ReportScope, node: Node) -> str:
    config = scope.config
    title = SCREENING_KINDS.get(node.kind) or FAMILY_KINDS[node.kind]
    if node.code:
        if node.kind == "not_eligible":
            words = words_of(config)["criteria"].get(node.code)
        elif node.kind == "declined":
            words = (config.decline_reasons or {}).get(node.code)
        elif node.kind == "other":
            words = (config.other_reasons or {}).get(node.code)
        else:
            words = {lv.key: lv.label for lv in config.withdrawal_levels or []}.get(node.code)
        if node.code == UNRECORDED:
            words = "no reason recorded"
        title = f"{title}: {words or node.code}"
    if node.arm:
        title = f"{title}, {scope.arms[node.arm]}"
    return title
