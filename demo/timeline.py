"""The demo's calendar. The demo trial has run since its recruitment plan began (the
definition's `reporting.recruitment.start`), up to the real date: sites open, families are
referred, randomised and followed up on dates consistent with that plan, and whatever has
fallen due by today is in the data (or visibly missing from it)."""

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from core.clock import today
from trial.definition import read_definition, validated

# When the plan has barely begun (or not yet), the demo still shows some months of running.
SHORTEST_RUN = 180


@dataclass(frozen=True)
class Timeline:
    plan_start: date
    today: date

    @property
    def start(self) -> date:
        """The first day of recruitment in the demo."""
        return min(self.plan_start, self.today - timedelta(days=SHORTEST_RUN))

    @property
    def days(self) -> int:
        """Days the demo trial has recruited."""
        return (self.today - self.start).days

    def day(self, n: int) -> date:
        """The date `n` days into recruitment (never later than today)."""
        return min(self.start + timedelta(days=n), self.today)

    def share(self, fraction: float) -> date:
        """The date that far through the recruitment so far."""
        return self.day(round(self.days * fraction))


def timeline_of(definition: Path) -> Timeline:
    data, _digest = read_definition(definition)
    plan = validated(data, definition).reporting.recruitment
    return Timeline(plan_start=plan.start if plan else today(), today=today())
