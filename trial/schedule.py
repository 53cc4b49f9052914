"""The visit schedule: visits, their target days from randomisation, their windows and
their forms. Pure Python: no Django import. Read from the trial definition's `schedule`.

Day 0 is the randomisation date. A visit's window is [day - before, day + after]; a form
dated outside it is accepted and flagged. The baseline visit comes before randomisation: its
forms must be complete to randomise, and it is judged against the randomisation date once
there is one."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class Visit:
    key: str
    label: str
    day: int
    before: int
    after: int
    forms: tuple[str, ...]
    before_randomisation: bool = False
    randomise_within: int | None = None  # days from this visit's last form to randomisation

    def window(self, randomised_on: date) -> tuple[date, date, date]:
        """(earliest, target, latest) for a family randomised on that date."""
        target = randomised_on + timedelta(days=self.day)
        return (
            target - timedelta(days=self.before),
            target,
            target + timedelta(days=self.after),
        )

    def in_window(self, dated: date, randomised_on: date | None) -> bool | None:
        """Whether a form dated so is in the window; None while there is no randomisation."""
        if randomised_on is None:
            return None
        earliest, _, latest = self.window(randomised_on)
        return earliest <= dated <= latest


@dataclass(frozen=True)
class Schedule:
    visits: tuple[Visit, ...]
    any_time: tuple[str, ...] = ()

    def visit(self, key: str) -> Visit | None:
        return next((v for v in self.visits if v.key == key), None)

    @property
    def baseline(self) -> Visit | None:
        return next((v for v in self.visits if v.before_randomisation), None)

    def form_keys(self) -> set[str]:
        return {f for v in self.visits for f in v.forms} | set(self.any_time)


def parse_schedule(body: dict[str, Any] | None) -> Schedule | None:
    """The schedule from an already checked definition section."""
    if not body:
        return None
    return Schedule(
        visits=tuple(
            Visit(
                key=v["key"],
                label=v["label"],
                day=v["day"],
                before=v["before"],
                after=v["after"],
                forms=tuple(v["forms"]),
                before_randomisation=bool(v.get("before_randomisation", False)),
                randomise_within=v.get("randomise_within"),
            )
            for v in body["visits"]
        ),
        any_time=tuple(body.get("any_time") or ()),
    )
