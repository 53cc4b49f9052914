"""The demo's randomisation: a sealed live list, and the enrolled families with a complete
baseline randomised, each dated a few days after its baseline as if the trial had run for
months (the service dates an allocation now)."""

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from core.channels import Channel
from core.errors import TrialError
from randomisation.models import Allocation
from randomisation.services import (
    family_randomise,
    randomisation_go_live,
    sequence_generate,
    sequence_seal,
)
from trial.models import Trial

from .families import coordinator_of
from .forms import BASELINE_AFTER, baseline_left
from .timeline import Timeline

CH = Channel.COMMAND


def seed_randomisation(trial: Trial, users: dict, timeline: Timeline, log) -> None:
    rng = random.Random(5)  # noqa: S311  (made-up dates, the same on every seed)
    statistician = users["stats.unblind"]
    rlist = sequence_generate(trial=trial, actor=statistician, channel=CH, mode="live", length=60)
    sequence_seal(rlist=rlist, actor=statistician, channel=CH)
    randomisation_go_live(trial=trial, actor=statistician, channel=CH)
    done = 0
    for family in trial.families.select_related("site").order_by("id"):
        if baseline_left(family, timeline.today):
            continue  # baseline still being completed: not ready to randomise
        try:
            allocation = family_randomise(
                family=family, actor=users[coordinator_of(family.site.code)], channel=CH
            )
        except TrialError as exc:
            log(f"Randomisation of {family.identifier} refused: {exc.message}")
            continue
        done += 1
        on = min(
            family.enrolled_on + timedelta(days=BASELINE_AFTER + rng.randrange(2, 11)),
            timeline.today,
        )
        when = timezone.make_aware(datetime.combine(on, time(11, rng.randrange(60))))
        Allocation.objects.filter(pk=allocation.pk).update(randomised_at=when)
        Allocation.history.filter(id=allocation.pk).update(randomised_at=when)
    left = trial.families.count() - done
    log(
        f"Randomisation: live list sealed ({rlist.strata.count()} strata); {done} families "
        f"randomised, {left} still completing baseline."
    )
