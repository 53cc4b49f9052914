"""The recruitment chart: families randomised so far, month by month, against the plan's
target line, as SVG drawn on the server. Pure Python: no Django import.

The chart is an image with a title and a description for screen readers (role="img",
labelled by both); the page gives the same numbers as a table beside it. Every text is
escaped, so a site's name cannot break the drawing."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from .projection import MONTHS

LEFT, RIGHT, TOP, BOTTOM = 64, 24, 44, 84
PLOT_HEIGHT = 240
MIN_PLOT_WIDTH = 360
MONTH_WIDTH = 26
RANDOMISED_COLOUR = "#005eb8"  # NHS blue
TARGET_COLOUR = "#4c6272"  # NHS dark grey
GRID_COLOUR = "#d8dde0"
FONT = 'font-family="Frutiger W01, Arial, sans-serif"'


@dataclass(frozen=True)
class Point:
    """One month: families randomised by its end (None for a month still to come) and the
    plan's target by its end (None without a plan)."""

    month: date
    randomised: int | None
    target: float | None


def month_label(month: date) -> str:
    """Jan 2026."""
    return f"{MONTHS[month.month - 1][:3]} {month.year}"


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _step(top: float) -> int:
    """A round step for about five gridlines up to `top`: 1, 2 or 5 times a power of ten."""
    rough = max(top / 5, 1)
    power = 1
    while power * 10 <= rough:
        power *= 10
    for multiple in (1, 2, 5, 10):
        if multiple * power >= rough:
            return multiple * power
    return 10 * power


def _polyline(coordinates: list[tuple[float, float]], style: str) -> str:
    joined = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    return f'<polyline points="{joined}" fill="none" {style}/>'


def cumulative_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str,
    ident: str = "recruitment-chart",
) -> str:
    """The chart as an `<svg>` element (no XML declaration), to be inlined in a page."""
    count = len(points)
    plot_width = max(MIN_PLOT_WIDTH, MONTH_WIDTH * count)
    width, height = LEFT + plot_width + RIGHT, TOP + PLOT_HEIGHT + BOTTOM
    values = [p.randomised for p in points if p.randomised is not None]
    values += [p.target for p in points if p.target is not None]
    step = _step(max(values, default=0))
    top = max(step, -(-max(values, default=0) // step) * step)

    def x(i: int) -> float:
        return LEFT + (i + 0.5) * plot_width / max(count, 1)

    def y(value: float) -> float:
        return TOP + PLOT_HEIGHT - value / top * PLOT_HEIGHT

    ident = _text(ident)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="recruitment-chart" '
        f'aria-labelledby="{ident}-title {ident}-desc" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<title id="{ident}-title">{_text(title)}</title>',
        f'<desc id="{ident}-desc">{_text(description)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for value in range(0, int(top) + 1, step):
        level = y(value)
        parts.append(
            f'<line x1="{LEFT}" y1="{level:.1f}" x2="{LEFT + plot_width}" y2="{level:.1f}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{level + 4:.1f}" text-anchor="end" font-size="12" '
            f"{FONT}>{value}</text>"
        )
    bottom = TOP + PLOT_HEIGHT
    parts.append(
        f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + plot_width}" y2="{bottom}" '
        f'stroke="#212b32" stroke-width="1"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#212b32" '
        f'stroke-width="1"/>'
    )
    for i, point in enumerate(points):
        at = x(i)
        parts.append(
            f'<text x="{at:.1f}" y="{bottom + 14}" text-anchor="end" font-size="10" {FONT} '
            f'transform="rotate(-55 {at:.1f} {bottom + 14})">{_text(month_label(point.month))}'
            "</text>"
        )
    parts.append(
        f'<text x="{LEFT + plot_width / 2:.1f}" y="{height - 8}" text-anchor="middle" '
        f'font-size="13" {FONT}>Month (figures at the end of each month)</text>'
        f'<text x="16" y="{TOP + PLOT_HEIGHT / 2:.1f}" text-anchor="middle" font-size="13" '
        f'{FONT} transform="rotate(-90 16 {TOP + PLOT_HEIGHT / 2:.1f})">'
        "Families randomised (total so far)</text>"
    )
    target = [(x(i), y(p.target)) for i, p in enumerate(points) if p.target is not None]
    if target:
        parts.append(
            _polyline(target, f'stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 4"')
        )
    done = [(x(i), y(p.randomised)) for i, p in enumerate(points) if p.randomised is not None]
    if done:
        parts.append(_polyline(done, f'stroke="{RANDOMISED_COLOUR}" stroke-width="3"'))
        parts.extend(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{RANDOMISED_COLOUR}"/>'
            for cx, cy in done
        )
    if not points:
        parts.append(
            f'<text x="{LEFT + plot_width / 2:.1f}" y="{TOP + PLOT_HEIGHT / 2:.1f}" '
            f'text-anchor="middle" font-size="14" {FONT}>No months to show</text>'
        )
    parts.append(_legend(has_target=bool(target)))
    parts.append("</svg>")
    return "".join(parts)


def _legend(*, has_target: bool) -> str:
    entries = [
        f'<line x1="{LEFT}" y1="18" x2="{LEFT + 28}" y2="18" stroke="{RANDOMISED_COLOUR}" '
        f'stroke-width="3"/><text x="{LEFT + 34}" y="22" font-size="13" {FONT}>'
        "Randomised</text>"
    ]
    if has_target:
        at = LEFT + 140
        entries.append(
            f'<line x1="{at}" y1="18" x2="{at + 28}" y2="18" stroke="{TARGET_COLOUR}" '
            f'stroke-width="2" stroke-dasharray="6 4"/><text x="{at + 34}" y="22" '
            f'font-size="13" {FONT}>Target on the plan</text>'
        )
    return "".join(entries)


def chart_description(points: Sequence[Point], *, target: int | None) -> str:
    """A sentence for screen readers: the span, where the count stands, and the target."""
    if not points:
        return "No months to show."
    done = [p for p in points if p.randomised is not None]
    span = f"From {month_label(points[0].month)} to {month_label(points[-1].month)}."
    if not done:
        stands = " No month has ended with families randomised yet."
    else:
        last = done[-1]
        stands = f" By the end of {month_label(last.month)}, {last.randomised} randomised"
        if last.target is not None:
            stands += f" against {last.target:.0f} on the plan"
        stands += "."
    aim = f" The target is {target}." if target is not None else ""
    return span + stands + aim
