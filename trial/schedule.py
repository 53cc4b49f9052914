"""The visit schedule: visits, their target days from randomisation, their windows and
their forms. Pure Python: no Django import. The trial definition's `schedule` section, as
its schema (trial/schema.py) reads it.

Day 0 is the randomisation date. A visit's window is [day - before, day + after]; a form
dated outside it is accepted and flagged. The baseline visit comes before randomisation: its
forms must be complete to randomise, and it is judged against the randomisation date once
there is one."""

from datetime import date, timedelta

from pydantic import Field, model_validator

from core.schema import At, Flag, Key, Schema, Text, Whole, unique_keys


class Visit(Schema):
    key: Key
    label: Text
    day: Whole = Field(description="target day from randomisation (day 0)")
    before: Whole = Field(ge=0, description="days the window opens before the target")
    after: Whole = Field(ge=0, description="days the window stays open after the target")
    forms: list[Key] = Field(min_length=1, description="form keys entered at this visit")
    before_randomisation: Flag = False
    randomise_within: Whole | None = Field(
        default=None, ge=1, description="days from this visit's last form to randomisation"
    )

    @model_validator(mode="after")
    def _forms_once(self):
        if len(set(self.forms)) != len(self.forms):
            raise At("forms", "names a form twice")
        return self

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


class Schedule(Schema):
    visits: list[Visit] = Field(min_length=1)
    any_time: list[Key] = Field(default=[], description="forms entered whenever needed")

    @model_validator(mode="after")
    def _visits_in_order(self):
        unique_keys(self.visits, "visits")
        for i in range(1, len(self.visits)):
            if self.visits[i].day < self.visits[i - 1].day:
                raise At(f"visits[{i}].day", "visits are listed in the order of their days")
        if sum(1 for v in self.visits if v.before_randomisation) > 1:
            raise At("visits", "at most one visit comes before randomisation (baseline)")
        return self

    def visit(self, key: str) -> Visit | None:
        return next((v for v in self.visits if v.key == key), None)

    @property
    def baseline(self) -> Visit | None:
        return next((v for v in self.visits if v.before_randomisation), None)

    def form_keys(self) -> set[str]:
        return {f for v in self.visits for f in v.forms} | set(self.any_time)
