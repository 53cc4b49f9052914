"""The demo's safety events, through the safety services: the site's report (with the time
it became aware), the PI's assessment signed with their password, the chief investigator's
review, follow-up reports to an outcome, and the report to the ethics committee.

Events from earlier in the trial are taken through every step they reached, then each step
is dated when it was done, a few hours or days after the site became aware (the services
date what they write now, as the queries in review.py are dated afterwards). The latest
events stand where they are today: one waiting for its PI's assessment and overdue, one
waiting for the chief investigator's review, and one reviewed as related and unexpected,
its report to the ethics committee due."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from core.channels import Channel
from safety.clock import rec_report_due
from safety.models import SafetyEvent, SafetyFollowUp
from safety.services import (
    sae_assess,
    sae_follow_up,
    sae_rec_report,
    sae_report,
    sae_review,
)
from trial.models import Trial

from .families import coordinator_of
from .fates import Randomised, Withdrawing, lost_to_follow_up
from .timeline import Timeline

CH = Channel.COMMAND
PI_OF = {"BUC": "pi.buc", "OXF": "pi.oxf", "SWI": "pi.swi"}
# Told to the service for an event entered after the fact: it was reported on paper on
# time, and the steps are then dated as they happened.
ENTERED_AFTER = "Entered afterwards from the site's paper report, which was made on time."
REFERRAL_TO = {
    "BUC": "Buckinghamshire Council children's services (MASH)",
    "OXF": "Oxfordshire County Council MASH",
    "SWI": "Swindon Borough Council MASH",
}


@dataclass(frozen=True)
class Story:
    """One safety event and how far it has gone.

    `aware_days_ago` dates a recent event from today (the rest are dated in the family's
    time in the trial); `reported_after` is the hours from awareness to the site's report.
    `assessed`: the PI's answers (seriousness, relatedness, expectedness); `reviewed`: the
    chief investigator's (relatedness, expectedness, note); `follow_ups`: (days after
    awareness, outcome, note); `rec_after`: days after the report that the ethics committee
    was told (None: not yet)."""

    kind: str
    seriousness: list[str] | None
    person: str
    relatedness: str
    expectedness: str
    referral: bool
    outcome: str
    description: str
    site: str | None = None
    aware_days_ago: float | None = None
    reported_after: float = 3
    assessed: tuple[list[str] | None, str, str] | None = None
    reviewed: tuple[str, str, str] | None = None
    follow_ups: tuple[tuple[int, str, str], ...] = ()
    rec_after: int | None = None


# Earlier in the trial: every step done, most of them closed.
EARLIER = [
    Story(
        "sae",
        ["hospitalisation"],
        "child",
        "unrelated",
        "expected",
        False,
        "resolving",
        "The child was admitted with bronchiolitis for three nights.",
        assessed=(["hospitalisation"], "unrelated", "expected"),
        reviewed=("unrelated", "expected", "A common winter illness at this age; agreed."),
        follow_ups=((6, "resolved", "Discharged home; seen by the GP a week later, well."),),
    ),
    Story(
        "safeguarding",
        None,
        "child",
        "unrelated",
        "expected",
        True,
        "ongoing",
        "Bruising seen at nursery; the safeguarding enquiry found significant harm.",
        assessed=(None, "unrelated", "expected"),
        reviewed=(
            "unrelated",
            "expected",
            "The family's circumstances, not the trial; the referral was made the same day.",
        ),
        follow_ups=(
            (14, "resolving", "Strategy meeting held; the child is staying with a grandparent."),
        ),
    ),
    Story(
        "sae",
        ["hospitalisation", "other_important"],
        "parent",
        "unlikely",
        "expected",
        True,
        "resolving",
        "The parent self-harmed and was treated in the emergency department.",
        assessed=(["hospitalisation", "other_important"], "unlikely", "expected"),
        reviewed=(
            "unlikely",
            "expected",
            "A known risk in this population; no session that week. Agreed with the PI.",
        ),
        follow_ups=((10, "resolved", "Seen by the crisis team; safety plan in place."),),
    ),
    Story(
        "sae",
        ["life_threatening"],
        "parent",
        "possible",
        "unexpected",
        True,
        "ongoing",
        "An overdose the day after a group session; admitted to a medical ward.",
        assessed=(["life_threatening"], "possible", "unexpected"),
        reviewed=(
            "possible",
            "unexpected",
            "The session discussed the care proceedings; related possibly. Reported to the "
            "ethics committee and the DMC chair.",
        ),
        follow_ups=(
            (4, "resolving", "Medically fit; transferred to the mental health ward."),
            (21, "resolved", "Discharged to the community team; groups resume next month."),
        ),
        rec_after=9,
    ),
    Story(
        "sae",
        ["hospitalisation"],
        "other_child",
        "unrelated",
        "expected",
        False,
        "ongoing",
        "An older brother was admitted overnight after a fall at home.",
        assessed=(["hospitalisation"], "unrelated", "expected"),
        reviewed=("unrelated", "expected", "An accident at home; agreed."),
        follow_ups=((2, "resolved", "Discharged the next morning with no injury found."),),
    ),
]

# Where things stand today.
LATEST = [
    # Reported on time, its PI's assessment overdue (due 24 hours from awareness).
    Story(
        "sae",
        ["hospitalisation"],
        "parent",
        "unlikely",
        "expected",
        False,
        "ongoing",
        "The parent was admitted to the acute mental health ward after a crisis at home.",
        site="BUC",
        aware_days_ago=1.4,
        reported_after=2,
    ),
    # Assessed by the PI this morning, waiting for the chief investigator's review.
    Story(
        "sae",
        ["hospitalisation"],
        "child",
        "unrelated",
        "expected",
        False,
        "ongoing",
        "The child was admitted with a high fever and a suspected urinary infection.",
        site="OXF",
        aware_days_ago=0.3,
        reported_after=1,
        assessed=(["hospitalisation"], "unrelated", "expected"),
    ),
    # Related and unexpected: reviewed, followed up, its report to the committee due.
    Story(
        "sae",
        ["hospitalisation", "other_important"],
        "parent",
        "possible",
        "unexpected",
        False,
        "ongoing",
        "An acute stress reaction on the evening of a video-feedback session; admitted to "
        "the crisis unit for two nights.",
        site="BUC",
        aware_days_ago=6,
        assessed=(["hospitalisation", "other_important"], "possible", "unexpected"),
        reviewed=(
            "probable",
            "unexpected",
            "The session replayed a distressing contact visit; probably related. To the "
            "ethics committee within 15 days; the therapists have been briefed.",
        ),
        follow_ups=((3, "resolving", "Home; the next session postponed by a fortnight."),),
    ),
]


def seed_safety(
    trial: Trial,
    families: list[tuple[Randomised, object]],
    users: dict,
    withdrawals: dict[int, Withdrawing],
    timeline: Timeline,
    pi_password: str,
) -> list[SafetyEvent]:
    """The earlier events at every third family randomised more than two months ago (before
    any withdrawal), then the latest at families still followed up."""
    events, used = [], set()
    earlier = [
        (r, f) for r, f in families if (timeline.today - r.on).days > 60 and f.site.code in PI_OF
    ][::3]
    for n, ((randomised, family), story) in enumerate(zip(earlier, EARLIER, strict=False)):
        # A month or more into the trial, and at least 45 days ago (its follow-ups are done).
        room = max((timeline.today - randomised.on).days - 75, 1)
        on = randomised.on + timedelta(days=30 + (n * 37) % room)
        withdrawing = withdrawals.get(family.pk)
        if withdrawing and on >= withdrawing.on - timedelta(days=30):
            on = withdrawing.on - timedelta(days=30)
        aware = _at(on + timedelta(days=1), time(10, 15))
        events.append(_told(family, story, aware, users, pi_password))
        used.add(family.pk)
    for story in LATEST:
        randomised, family = next(
            (r, f)
            for r, f in families
            if f.site.code == story.site
            and f.pk not in used
            and f.pk not in withdrawals
            and not lost_to_follow_up(r)
            and (timeline.today - r.on).days > 30
        )
        aware = timezone.localtime(timezone.now() - timedelta(days=story.aware_days_ago)).replace(
            second=0, microsecond=0
        )
        events.append(_told(family, story, aware, users, pi_password))
        used.add(family.pk)
    return events


def _at(on: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(on, at))


def _told(family, story: Story, aware: datetime, users: dict, pi_password: str) -> SafetyEvent:
    """The event through the steps its story reached, each then dated when it was done."""
    site = family.site.code
    coordinator, pi, chief = users[coordinator_of(site)], users[PI_OF[site]], users["chief"]
    local = timezone.localtime(aware)
    event_on = local.date() - timedelta(days=1 if story.kind == "sae" else 0)
    values = {
        "event_date": event_on.isoformat(),
        "reported_on": local.date().isoformat(),
        "kind": story.kind,
        "person": story.person,
        "relatedness": story.relatedness,
        "expectedness": story.expectedness,
        "safeguarding_referral": story.referral,
        "outcome": story.outcome,
        "description": story.description,
    }
    if story.seriousness:
        values["seriousness"] = story.seriousness
    reported = aware + timedelta(hours=story.reported_after)
    event = sae_report(
        family=family,
        values=values,
        aware_time=f"{local:%H:%M}",
        referral_to=REFERRAL_TO[site] if story.referral else "",
        referral_on=local.date() if story.referral else None,
        late_reason="" if _now_on_time(aware) else ENTERED_AFTER,
        actor=coordinator,
        channel=CH,
    )
    times = {"reported_at": reported}
    if story.assessed:
        seriousness, relatedness, expectedness = story.assessed
        event = sae_assess(
            event=event,
            seriousness=seriousness or [],
            relatedness=relatedness,
            expectedness=expectedness,
            password=pi_password,
            actor=pi,
            channel=CH,
        )
        times["assessed_at"] = reported + timedelta(hours=4)
    if story.reviewed:
        relatedness, expectedness, note = story.reviewed
        event = sae_review(
            event=event,
            relatedness=relatedness,
            expectedness=expectedness,
            note=note,
            actor=chief,
            channel=CH,
        )
        times["reviewed_at"] = reported + timedelta(days=1, hours=2)
    follow_ups = []
    for days, outcome, note in story.follow_ups:
        done = sae_follow_up(event=event, outcome=outcome, note=note, actor=coordinator, channel=CH)
        follow_ups.append((done, _at(local.date() + timedelta(days=days), time(11, 30))))
    if story.rec_after is not None:
        sae_rec_report(
            event=event,
            reported_on=timezone.localdate(),
            reference=f"25/SC/{400 + event.pk:04d}",
            actor=chief,
            channel=CH,
        )
    _dated(event.pk, times, follow_ups, story)
    return SafetyEvent.objects.get(pk=event.pk)


def _now_on_time(aware: datetime) -> bool:
    return timezone.now() - aware <= timedelta(hours=24)


def _dated(pk: int, times: dict, follow_ups: list, story: Story) -> None:
    """Each step dated when it was done, on the event and its history alike."""
    event = SafetyEvent.objects.get(pk=pk)
    reported = times["reported_at"]
    changes = {**times, "late_reason": ""}
    if event.reportable:
        changes["rec_due_on"] = rec_report_due(timezone.localdate(reported))
    if event.rec_reported_on is not None:
        changes["rec_reported_on"] = timezone.localdate(reported) + timedelta(days=story.rec_after)
    if event.closed_at is not None and follow_ups:
        changes["closed_at"] = follow_ups[-1][1]
    SafetyEvent.objects.filter(pk=pk).update(**changes)
    history = SafetyEvent.history.filter(id=pk)
    history.update(reported_at=reported, late_reason="")
    for key, value in changes.items():
        if key not in ("reported_at", "late_reason"):
            history.filter(**{f"{key}__isnull": False}).update(**{key: value})
    for follow_up, when in follow_ups:
        SafetyFollowUp.objects.filter(pk=follow_up.pk).update(reported_at=when)
        SafetyFollowUp.history.filter(id=follow_up.pk).update(reported_at=when)
