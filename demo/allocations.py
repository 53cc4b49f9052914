"""The demo's randomisation: a sealed live list, and most enrolled families randomised."""

from core.channels import Channel
from core.errors import TrialError
from randomisation.services import (
    family_randomise,
    randomisation_go_live,
    sequence_generate,
    sequence_seal,
)
from trial.models import Trial

CH = Channel.COMMAND


def seed_randomisation(trial: Trial, users: dict, log) -> None:
    statistician = users["stats.unblind"]
    rlist = sequence_generate(trial=trial, actor=statistician, channel=CH, mode="live", length=60)
    sequence_seal(rlist=rlist, actor=statistician, channel=CH)
    randomisation_go_live(trial=trial, actor=statistician, channel=CH)
    done = refused = 0
    reasons: set[str] = set()
    for family in trial.families.select_related("site").order_by("id"):
        if family.sequence % 6 == 0:
            continue  # a few left to randomise in the demo
        try:
            family_randomise(
                family=family, actor=users[f"coord.{family.site.code.lower()}"], channel=CH
            )
            done += 1
        except TrialError as exc:
            refused += 1  # withdrawn, or due to re-consent: refused, as they should be
            reasons.add(exc.message)
    log(
        f"Randomisation: live list sealed ({rlist.strata.count()} strata); {done} families "
        f"randomised, {refused} refused: {'; '.join(sorted(reasons)) or 'none'}"
    )
