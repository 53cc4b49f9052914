"""The reports' figures for the new day, counted just after midnight (the day is part of what
each site's kept counts are kept under, sites.kept), so that the day's first viewers find them
counted: pooled and by arm, and the balance table pooled and closed. With a cache shared by
the web workers (CACHE_URL) only."""

from sites.models import Site
from trial.config import config_of
from trial.models import Trial

from .balance import balance_of
from .consort import consort_of
from .quality import quality_of
from .recruitment import recruitment_of
from .scope import ReportScope


def keep_figures(trial: Trial) -> None:
    sites = tuple(Site.objects.filter(trial=trial).order_by("code"))
    if not sites:
        return
    config = config_of(trial)
    for by_arm in (False, True):
        scope = ReportScope(trial=trial, config=config, viewer=None, sites=sites, by_arm=by_arm)
        quality_of(scope)
        consort_of(scope)
        recruitment_of(scope)
        balance_of(ReportScope(trial=trial, config=config, viewer=None, sites=sites, closed=by_arm))
