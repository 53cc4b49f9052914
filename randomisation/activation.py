"""A site that joins once randomisation is live. When the site is a stratification factor,
its families fall in strata of their own, which the live list made at go-live does not
cover: the site may be activated only once a sealed live list covers them, or, where the
trial's definition says so (`lists_for_new_sites: at_activation`), its activation makes and
seals that list. So a site never recruits families it could not randomise. In test mode
nothing is asked (the test lists are as ever); under minimisation a new site is one more
factor level and needs no list. Named in `SITE_ACTIVATION_CHECKS`."""

from dataclasses import dataclass

from django.db.models import Max

from core.channels import Channel
from core.roles import Role
from sites.activation import ActivationWaiting, Step
from sites.models import Site, SiteStatus
from trial.config import config_of
from trial.models import Trial

from .models import Mode, Stratum
from .notifications import site_list_request
from .services import list_generate, list_seal, lists_per_site, site_unlisted

WAITING = "waiting for the site's randomisation list"
LABEL = "Randomisation list"


@dataclass(frozen=True)
class ListNeed:
    """What a site lacks before it may be activated: the keys of its strata that no sealed
    live list covers, and how many of those a generated list not yet sealed holds."""

    site: Site
    missing: list[str]
    unsealed: int
    at_activation: bool

    @property
    def waiting(self) -> str:
        if self.unsealed:
            return f"{WAITING}: the unblinded statistician has generated it and seals it"
        return f"{WAITING}: the unblinded statistician generates and seals it"


def list_need(site: Site, *, mode: str | None = None) -> ListNeed | None:
    """What the site needs of a live list to be activated; None where it needs nothing (the
    trial in test mode, minimisation, the site no factor, or a sealed list there already)."""
    trial = site.trial
    if mode is None:
        mode = Trial.objects.filter(pk=trial.pk).values_list("randomisation_mode", flat=True).get()
    if mode != Mode.LIVE or not lists_per_site(trial):
        return None
    missing = site_unlisted(site)
    if not missing:
        return None
    unsealed = Stratum.objects.filter(trial=trial, mode=Mode.LIVE, key__in=missing).count()
    rule = config_of(trial).randomisation.lists_for_new_sites
    return ListNeed(site, missing, unsealed, at_activation=rule == "at_activation")


def sites_waiting_for_lists(trial: Trial) -> list[ListNeed]:
    """The trial's approved sites that wait for the unblinded statistician's list."""
    needs = []
    for site in Site.objects.filter(trial=trial, status=SiteStatus.APPROVED).order_by("code"):
        need = list_need(site)
        if need is not None and not need.at_activation:
            needs.append(need)
    return needs


def _live_length(trial: Trial) -> int:
    longest = Stratum.objects.filter(
        trial=trial, mode=Mode.LIVE, rlist__sealed_at__isnull=False
    ).aggregate(longest=Max("length"))["longest"]
    if not longest:
        raise ActivationWaiting(
            "There is no sealed live list to take the length of the site's list from.",
            field="randomisation_list",
        )
    return longest


class LiveListForSite:
    """The activation check: a sealed live list for the site's strata, or made at activation."""

    def steps(self, site: Site) -> list[Step]:
        if site.status not in (SiteStatus.PROPOSED, SiteStatus.APPROVED):
            return []
        trial = site.trial
        if trial.randomisation_mode != Mode.LIVE or not lists_per_site(trial):
            return []
        need = list_need(site, mode=Mode.LIVE)
        if need is None:
            return [Step(LABEL, True, f"a sealed live list covers {site.code}'s strata")]
        if need.at_activation and not need.unsealed:
            return [
                Step(
                    LABEL,
                    True,
                    "made and sealed when the site is activated, as the trial's definition "
                    "says for sites that join later",
                )
            ]
        return [Step(LABEL, False, need.waiting)]

    def on_step(self, site: Site, *, to_status: str, actor, channel: Channel) -> None:
        if to_status not in (SiteStatus.APPROVED, SiteStatus.ACTIVE):
            return
        # The trial row, shared: going live takes it for update, so an activation either
        # sees the trial live or finishes first (and going live then finds the site active).
        mode = (
            Trial.objects.select_for_update(no_key=True)
            .filter(pk=site.trial_id)
            .values_list("randomisation_mode", flat=True)
            .get()
        )
        need = list_need(site, mode=mode)
        if need is None:
            return
        if to_status == SiteStatus.APPROVED:
            if not need.at_activation:
                site_list_request(site=site, actor=actor)
            return
        if need.at_activation and not need.unsealed:
            _make_at_activation(site, actor=actor, channel=channel)
            return
        raise ActivationWaiting(
            f"{site.code} cannot be activated yet: it is {need.waiting}. Randomisation is "
            f"live and the site is a stratification factor, so until a sealed live list "
            f"covers {site.code}'s {len(need.missing)} strata no family there could be "
            "randomised.",
            field="randomisation_list",
            ask=lambda: site_list_request(site=site, actor=actor),
        )


def _make_at_activation(site: Site, *, actor, channel: Channel) -> None:
    """The site's list, generated and sealed in the activation's own transaction by the
    manager activating the site, each step in the ledger with why it was made then."""
    reason = (
        f"Made at {site.code}'s activation, as the trial's definition says for sites that "
        "join once randomisation is live."
    )
    held = {Role.TRIAL_MANAGER}
    rlist = list_generate(
        trial=site.trial,
        actor=actor,
        channel=channel,
        mode=Mode.LIVE,
        length=_live_length(site.trial),
        site=site,
        held=held,
        reason=reason,
    )
    list_seal(rlist=rlist, actor=actor, channel=channel, held=held, reason=reason)
