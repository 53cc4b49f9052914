"""What a report covers and what its viewer may learn from it.

Every report (page, API, CSV, SVG, PDF) is built for one `ReportScope`: the trial, the sites
the viewer may read (narrowed to one site by a filter), an optional date range, and two
answers the concealment policy gives once for the whole report:

- `by_arm`: the viewer may learn arms at every site the report covers, so its numbers may be
  split by arm. Otherwise every number is pooled over the arms, and nothing is shown from
  which an arm's count follows (a report that covers one site where the viewer is blinded is
  pooled as a whole, never split for the sites where they are not).
- `closed`: the viewer is an unblinded statistician of the trial and holds no blinded role in
  it: only they see comparisons between the arms (baseline balance and allocations by factor
  level by arm, the primary outcome so far by arm, SAEs by arm) and the DMC's closed report.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q, QuerySet

from core.clock import today
from core.errors import NotPermitted, TrialError
from core.roles import BLINDED_ROLES, Role
from randomisation.concealment import arm_sites
from sites.models import Site
from sites.selectors import open_memberships, sites_visible_to
from trial.config import TrialConfig, config_of
from trial.models import Trial


@dataclass(frozen=True)
class ReportScope:
    trial: Trial
    config: TrialConfig
    viewer: object
    sites: tuple[Site, ...]
    site: Site | None = None  # the one site a filter narrowed the report to
    start: date | None = None  # referral (or randomisation) dates from ...
    end: date | None = None  # ... to, both included
    by_arm: bool = False
    closed: bool = False
    on: date = field(default_factory=today)

    @property
    def site_ids(self) -> list[int]:
        return [s.pk for s in self.sites]

    @property
    def arms(self) -> dict[str, str]:
        """The trial's arms, code: label, in the definition's order."""
        return dict(self.config.randomisation.arms) if self.config.randomisation else {}

    @property
    def mode(self) -> str:
        return self.trial.randomisation_mode

    def kept_key(self) -> tuple:
        """What every report's kept counts depend on besides the sites' data (sites.kept):
        the trial, its definition, the randomisation mode and the date range. Each report
        adds its own parts (the day, pooled or by arm, its forms)."""
        return (self.trial.pk, self.trial.definition_sha256, self.mode, self.start, self.end)

    def dates(self, name: str) -> Q:
        """The date range as a condition on a date field (or a `__date` lookup)."""
        condition = Q()
        if self.start:
            condition &= Q(**{f"{name}__gte": self.start})
        if self.end:
            condition &= Q(**{f"{name}__lte": self.end})
        return condition

    def filters(self) -> dict[str, str]:
        """The filter as query parameters, for links to listings and downloads."""
        found = {}
        if self.site:
            found["site"] = self.site.code
        if self.start:
            found["from"] = self.start.isoformat()
        if self.end:
            found["to"] = self.end.isoformat()
        return found


def _blinded_anywhere(viewer, trial: Trial) -> bool:
    return open_memberships(viewer).filter(trial=trial, role__in=BLINDED_ROLES).exists()


def may_see_closed(viewer, trial: Trial) -> bool:
    """Whether the viewer may see the arms compared: an unblinded statistician of the trial
    with no blinded role anywhere in it."""
    trial_wide = open_memberships(viewer).filter(trial=trial, site__isnull=True)
    held = set(trial_wide.values_list("role", flat=True))
    return Role.STATISTICIAN_UNBLINDED in held and not _blinded_anywhere(viewer, trial)


def report_scope(
    viewer,
    trial: Trial,
    *,
    site: str | None = None,
    start: date | None = None,
    end: date | None = None,
    on: date | None = None,
) -> ReportScope:
    """The scope of a report for this viewer; a site they cannot read, or a range that ends
    before it starts, is refused naming the filter."""
    visible: QuerySet[Site] = sites_visible_to(viewer).filter(trial=trial).order_by("code")
    sites = list(visible)
    if not sites:
        raise NotPermitted("You hold no role at any site of this trial.")
    chosen = None
    if site:
        chosen = next((s for s in sites if s.code == site.strip().upper()), None)
        if chosen is None:
            raise TrialError(f"No site {site} among the sites you can see.", field="site")
        sites = [chosen]
    if start and end and end < start:
        raise TrialError("The end of the range is before its start.", field="to")
    readable = set(arm_sites(viewer).filter(trial=trial).values_list("pk", flat=True))
    by_arm = all(s.pk in readable for s in sites)
    return ReportScope(
        trial=trial,
        config=config_of(trial),
        viewer=viewer,
        sites=tuple(sites),
        site=chosen,
        start=start,
        end=end,
        by_arm=by_arm,
        closed=may_see_closed(viewer, trial),
        on=on or today(),
    )
