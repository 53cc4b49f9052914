"""What becomes of the demo's randomised families after randomisation: who withdraws (at
which level, when and why), and who is lost to follow-up. Decided once, from the family's
place in the trial, so that the follow-up visits, the withdrawals and the reports agree."""

from dataclasses import dataclass
from datetime import date, timedelta

# (level, reason, how far through the family's time in the trial so far), in turn to the
# families randomised long enough ago; the intervention level only for ReConnect families.
WITHDRAWALS = [
    ("intervention", "Stopped attending the groups after a house move; visits continue", 0.45),
    ("questionnaires", "Finds the questionnaires distressing", 0.6),
    ("complete", "Family moved out of the area after a care order; wants no further data", 0.7),
    ("all_contact", "Does not want further visits; agreed that records may still be used", 0.5),
    ("intervention", "Chose to continue with the local perinatal mental health team", 0.3),
]
# A family withdraws only once it has been in the trial this long.
SETTLED = 150
LOST = "The family moved away and could not be traced; the child's placement is not known."


@dataclass(frozen=True)
class Withdrawing:
    level: str
    on: date
    reason: str


@dataclass(frozen=True)
class Randomised:
    family_id: int
    sequence: int
    shown_arm: str | None  # as the unblinded statistician sees it
    on: date


def withdrawals_of(
    randomised: list[Randomised], today: date, treated: str
) -> dict[int, Withdrawing]:
    """Every fourth settled family withdraws, at each level in turn (the intervention level
    only from families allocated `treated`, the arm with an intervention to withdraw from)."""
    settled = [r for r in randomised if (today - r.on).days >= SETTLED][1::4]
    plans, chosen = list(WITHDRAWALS), {}
    for family in settled:
        for n, (level, reason, share) in enumerate(plans):
            if level != "intervention" or family.shown_arm == treated:
                on = family.on + timedelta(days=round((today - family.on).days * share))
                chosen[family.family_id] = Withdrawing(level, on, reason)
                del plans[n]
                break
        if not plans:
            break
    return chosen


def lost_to_follow_up(family: Randomised) -> bool:
    """About one family in six cannot be traced for its later visits."""
    return family.sequence % 6 == 4
