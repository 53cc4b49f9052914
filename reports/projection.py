"""Recruitment against its plan: the linear plan's target by a day, whether a site is behind
it, and the date the target would be reached at the recent rate, with its uncertainty. Pure
Python: no Django import.

The plan runs linearly from its first to its last day, reaching the target on the last. The
projection reads the rate from the randomisations of the last `WINDOW_DAYS` days: the count in
the window is treated as Poisson, so an 80 % interval for the rate is the exact (Garwood) one
from Gamma quantiles; the completion dates at the interval's two ends are the plausible range
stated beside the central date (the faster rate gives the earlier date)."""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

WINDOW_DAYS = 90  # the recent window the rate is read from
INTERVAL = 0.80  # the two-sided interval stated for the rate
BEHIND_MARGIN = 0.10  # behind target: more than this fraction below the plan's figure
HORIZON_DAYS = 36_525  # a projected date further away than this (100 years) is not given
DAYS_PER_MONTH = 365.25 / 12

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

REACHED, NO_RECENT, PROJECTED = "reached", "no_recent", "projected"


# -- the calendar ---------------------------------------------------------------------


def month_of(day: date) -> date:
    """The first day of the day's month."""
    return day.replace(day=1)


def month_end(month: date) -> date:
    """The last day of the month that `month` falls in."""
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def months_from(first: date, last: date) -> Iterator[date]:
    """The first days of the months from `first`'s to `last`'s, both included."""
    month = month_of(first)
    while month <= last:
        yield month
        month = month_end(month) + timedelta(days=1)


def month_words(day: date) -> str:
    """May 2028."""
    return f"{MONTHS[day.month - 1]} {day.year}"


# -- the linear plan ------------------------------------------------------------------


def planned_by(day: date, *, start: date, end: date, target: int) -> float:
    """How many families the linear plan has randomised by the end of `day`: none before
    its first day, all `target` from its last day."""
    if day < start:
        return 0.0
    if day >= end:
        return float(target)
    return target * ((day - start).days + 1) / ((end - start).days + 1)


def is_behind(randomised: int, expected: float, *, margin: float = BEHIND_MARGIN) -> bool:
    """Below the plan's figure by more than `margin` of it."""
    return randomised < expected * (1 - margin)


# -- the Gamma quantiles for a Poisson count ------------------------------------------


def _lower_gamma_regularised(a: float, x: float) -> float:
    """P(a, x): the Gamma(a, 1) distribution function at x (Numerical Recipes: the series
    below a + 1, the continued fraction above)."""
    if x <= 0:
        return 0.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return min(1.0, total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-15:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def gamma_quantile(p: float, shape: float) -> float:
    """The p-quantile of Gamma(shape, 1), by bisection on its distribution function."""
    if not 0 < p < 1 or shape <= 0:
        raise ValueError("p must be in (0, 1) and shape positive")
    low, high = 0.0, shape + 10 * math.sqrt(shape) + 10
    while _lower_gamma_regularised(shape, high) < p:
        low, high = high, high * 2
    for _ in range(200):
        middle = (low + high) / 2
        if _lower_gamma_regularised(shape, middle) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def poisson_interval(count: int, level: float = INTERVAL) -> tuple[float, float]:
    """The exact two-sided interval for a Poisson mean from one observed count."""
    tail = (1 - level) / 2
    low = gamma_quantile(tail, count) if count > 0 else 0.0
    return low, gamma_quantile(1 - tail, count + 1)


# -- the projection -------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """When the target would be reached at the recent rate. `status` is `reached` (the
    target is met), `no_recent` (no randomisation in the window: no rate to project from) or
    `projected`. A date None under `projected` is more than 100 years away."""

    status: str
    target: int
    randomised: int
    window_days: int
    recent: int
    per_month: float | None = None  # families a month at the recent rate
    central: date | None = None
    earliest: date | None = None  # at the fastest plausible rate
    latest: date | None = None  # at the slowest plausible rate

    @property
    def remaining(self) -> int:
        return max(0, self.target - self.randomised)

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "target": self.target,
            "randomised": self.randomised,
            "remaining": self.remaining,
            "window_days": self.window_days,
            "recent": self.recent,
            "per_month": None if self.per_month is None else round(self.per_month, 2),
            "central": self.central and self.central.isoformat(),
            "earliest": self.earliest and self.earliest.isoformat(),
            "latest": self.latest and self.latest.isoformat(),
        }


def _after(today: date, days: float) -> date | None:
    whole = math.ceil(days - 1e-9)
    return None if whole > HORIZON_DAYS else today + timedelta(days=whole)


def projected(
    *, today: date, target: int, randomised: int, recent: int, window_days: int = WINDOW_DAYS
) -> Projection:
    """The projection from `recent` randomisations in the `window_days` days to `today`."""
    facts = {"target": target, "randomised": randomised, "window_days": window_days}
    if randomised >= target:
        return Projection(status=REACHED, recent=recent, **facts)
    if recent <= 0:
        return Projection(status=NO_RECENT, recent=0, **facts)
    remaining = target - randomised
    low, high = poisson_interval(recent)
    # Days to go at a rate of `count` per window: remaining * window / count.
    return Projection(
        status=PROJECTED,
        recent=recent,
        per_month=recent / window_days * DAYS_PER_MONTH,
        central=_after(today, remaining * window_days / recent),
        earliest=_after(today, remaining * window_days / high),
        latest=_after(today, remaining * window_days / low),
        **facts,
    )


# -- in plain words -------------------------------------------------------------------


def _window_words(days: int) -> str:
    if days % 30 == 0:
        months = days // 30
        return "month" if months == 1 else f"{months} months"
    return f"{days} days"


def _those(window: str) -> str:
    return "that month" if window == "month" else f"those {window.split()[-1]}"


def _families(n: int) -> str:
    return "1 family" if n == 1 else f"{n} families"


def _rate_words(per_month: float) -> str:
    if per_month < 1:
        return f"about {per_month:.1f} a month"
    return f"about {round(per_month)} a month"


def _when(day: date | None) -> str:
    return month_words(day) if day else "more than 100 years from now"


def _months_apart(first: date, second: date) -> int:
    return (second.year - first.year) * 12 + second.month - first.month


def _against_plan(central: date | None, planned_end: date | None) -> str:
    if planned_end is None:
        return ""
    end = month_words(planned_end)
    if central is None:
        return f" That is far beyond the planned end of recruitment ({end})."
    apart = _months_apart(planned_end, central)
    if apart == 0:
        return f" That is the month recruitment is planned to end ({end})."
    if abs(apart) >= 24:
        months = f"about {round(abs(apart) / 12)} years"
    else:
        months = "1 month" if abs(apart) == 1 else f"{abs(apart)} months"
    side = "after" if apart > 0 else "before"
    return f" That is {months} {side} the planned end of recruitment ({end})."


def projection_in_words(projection: Projection, *, planned_end: date | None = None) -> str:
    """The projection as a sentence or two a trial manager reads aloud."""
    p = projection
    window = _window_words(p.window_days)
    if p.status == REACHED:
        return f"The target of {p.target} has been reached: {_families(p.randomised)} randomised."
    if p.status == NO_RECENT:
        return (
            f"No family was randomised in the last {window}, so there is no recent rate to "
            f"project a completion date from ({p.remaining} still to randomise for the target "
            f"of {p.target})."
        )
    assert p.per_month is not None
    text = (
        f"At the rate of the last {window} ({_families(p.recent)}, {_rate_words(p.per_month)}) "
        f"the target of {p.target} would be reached around {_when(p.central)}; at rates as "
        f"slow or as fast as {_those(window)} could plausibly reflect, between "
        f"{_when(p.earliest)} and {_when(p.latest)}."
    )
    return text + _against_plan(p.central, planned_end)
