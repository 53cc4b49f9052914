"""The CONSORT flow diagram drawn as SVG: four stages (enrolment, allocation, follow-up,
analysis), one column per arm when the figures are split by arm and one column when they are
pooled. Pure Python: no Django import. It draws what it is given and knows nothing of
trials: every text is escaped, and every count is a link to the listing behind it."""

import re
import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

FONT = 12  # px
CHAR = 6.4  # the average width of a character at FONT, for wrapping
LEADING = 16  # px from one text line to the next
PAD = 8  # inside a box
COUNT_W = 64  # the right-hand part of a box where the counts stand
MARGIN = 12
GAP = 36  # between columns
STAGE_H = 24  # a stage's bar
ARROW = 28  # the vertical space an arrow takes
MAIN_W = 250  # the enrolment stage's main boxes
MIN_W = 680
COLUMN_W = 300
BLUE, INK, LINE, PALE = "#005eb8", "#212b32", "#4c6272", "#e8edee"
STAGES = ("Enrolment", "Allocation", "Follow-up", "Analysis")
# Characters XML 1.0 cannot hold at all (escaping does not help): dropped.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def drawable(text: str) -> str:
    """The text as the drawing can hold it: without the characters XML cannot carry."""
    return NOT_XML.sub("", text)


def _text(text: str) -> str:
    # A carriage return is read back as a line feed unless written as a reference.
    return escape(drawable(text), {"\r": "&#13;"})


def _attr(text: str) -> str:
    return quoteattr(drawable(text))


@dataclass(frozen=True)
class Line:
    """One line of a box: a reason (level 1) or a group of reasons (level 0), its count,
    and the listing the count links to."""

    label: str
    count: int
    href: str = ""
    level: int = 0


@dataclass(frozen=True)
class Box:
    title: str
    count: int
    href: str = ""
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class Column:
    """One arm's boxes (or the pooled ones) below the randomisation."""

    allocation: Box
    follow_up: Box
    analysis: Box


@dataclass(frozen=True)
class Flow:
    title: str
    description: str
    assessed: Box
    excluded: Box
    randomised: Box
    columns: tuple[Column, ...]


def _wrap(text: str, width: float) -> list[str]:
    return textwrap.wrap(drawable(text), max(8, int(width / CHAR))) or [""]


@dataclass(frozen=True)
class _Laid:
    """A box with its text wrapped for a width: rows of (text, count or None, href, indent,
    bold), and its height."""

    rows: tuple[tuple[str, int | None, str, int, bool], ...]
    height: int


def _lay(box: Box, width: float) -> _Laid:
    text_w = width - 2 * PAD - COUNT_W
    rows: list[tuple[str, int | None, str, int, bool]] = []
    for i, part in enumerate(_wrap(box.title, text_w)):
        rows.append((part, box.count if i == 0 else None, box.href, 0, True))
    for line in box.lines:
        indent = 14 * line.level
        for i, part in enumerate(_wrap(line.label, text_w - indent)):
            rows.append((part, line.count if i == 0 else None, line.href, indent, False))
    return _Laid(tuple(rows), 2 * PAD + LEADING * len(rows))


def _count(n: int, href: str, x: float, y: float) -> str:
    """A count, right-aligned; a link to its listing when it has one."""
    style = f' fill="{BLUE}" text-decoration="underline"' if href else ""
    text = (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="end" font-weight="bold"{style}>'
        f"n&#160;=&#160;{n}</text>"
    )
    return f'<a href={_attr(href)} target="_top">{text}</a>' if href else text


def _box(laid: _Laid, x: float, y: float, width: float, height: float | None = None) -> str:
    h = height if height is not None else laid.height
    parts = [
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" fill="#ffffff" '
        f'stroke="{LINE}" stroke-width="1.5" rx="3"/>'
    ]
    for i, (text, count, href, indent, bold) in enumerate(laid.rows):
        baseline = y + PAD + LEADING * i + FONT
        weight = ' font-weight="bold"' if bold else ""
        parts.append(
            f'<text x="{x + PAD + indent:.1f}" y="{baseline:.1f}"{weight}>{_text(text)}</text>'
        )
        if count is not None:
            parts.append(_count(count, href, x + width - PAD, baseline))
    return "".join(parts)


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{LINE}" '
        'stroke-width="1.5" marker-end="url(#consort-arrow)"/>'
    )


def _stage(name: str, y: float, width: float) -> str:
    return (
        f'<rect x="{MARGIN}" y="{y:.1f}" width="{width - 2 * MARGIN:.1f}" height="{STAGE_H}" '
        f'fill="{PALE}" rx="4"/>'
        f'<text x="{MARGIN + PAD}" y="{y + 17:.1f}" font-weight="bold" fill="{INK}">'
        f"{_text(name)}</text>"
    )


def flow_svg(flow: Flow) -> str:
    """The diagram as one SVG element, scaling to the width it is given."""
    n = max(1, len(flow.columns))
    width = max(MIN_W, 2 * MARGIN + n * COLUMN_W + (n - 1) * GAP)
    side_x = MARGIN + MAIN_W + 48
    side_w = width - MARGIN - side_x
    body: list[str] = []

    y = MARGIN
    body.append(_stage(STAGES[0], y, width))
    y += STAGE_H + 12
    assessed = _lay(flow.assessed, MAIN_W)
    excluded = _lay(flow.excluded, side_w)
    randomised = _lay(flow.randomised, MAIN_W)
    body.append(_box(assessed, MARGIN, y, MAIN_W))
    spine_x = MARGIN + MAIN_W / 2
    top_of_side = y + assessed.height + ARROW / 2
    body.append(_box(excluded, side_x, top_of_side, side_w))
    branch_y = top_of_side + min(excluded.height / 2, 40)
    randomised_y = max(top_of_side + excluded.height + ARROW / 2, branch_y + ARROW)
    body.append(
        f'<line x1="{spine_x:.1f}" y1="{y + assessed.height:.1f}" x2="{spine_x:.1f}" '
        f'y2="{branch_y:.1f}" stroke="{LINE}" stroke-width="1.5"/>'
    )
    body.append(_arrow(spine_x, branch_y, side_x - 2, branch_y))
    body.append(_arrow(spine_x, branch_y, spine_x, randomised_y - 2))
    body.append(_box(randomised, MARGIN, randomised_y, MAIN_W))
    y = randomised_y + randomised.height

    column_w = (width - 2 * MARGIN - (n - 1) * GAP) / n
    xs = [MARGIN + i * (column_w + GAP) for i in range(n)]
    centres = [x + column_w / 2 for x in xs]
    fork_y = y + ARROW / 2
    body.append(
        f'<line x1="{spine_x:.1f}" y1="{y:.1f}" x2="{spine_x:.1f}" y2="{fork_y:.1f}" '
        f'stroke="{LINE}" stroke-width="1.5"/>'
    )
    lo, hi = min([*centres, spine_x]), max([*centres, spine_x])
    body.append(
        f'<line x1="{lo:.1f}" y1="{fork_y:.1f}" x2="{hi:.1f}" y2="{fork_y:.1f}" '
        f'stroke="{LINE}" stroke-width="1.5"/>'
    )
    stage_y = fork_y + 8
    tops = [fork_y] * n
    for s, stage in enumerate(STAGES[1:]):
        body.append(_stage(stage, stage_y, width))
        boxes_y = stage_y + STAGE_H + ARROW
        laid = [_lay((c.allocation, c.follow_up, c.analysis)[s], column_w) for c in flow.columns]
        height = max((b.height for b in laid), default=2 * PAD)
        for i, box in enumerate(laid):
            body.append(_arrow(centres[i], tops[i], centres[i], boxes_y - 2))
            body.append(_box(box, xs[i], boxes_y, column_w, height))
            tops[i] = boxes_y + height
        stage_y = boxes_y + height + 12
    total_h = stage_y + MARGIN

    # An image may hold no links (they would be unreachable inside it): a drawing whose
    # numbers are links is a labelled group of them instead.
    role = "group" if any("<a " in part for part in body) else "img"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {total_h:.0f}" '
        f'width="{width:.0f}" height="{total_h:.0f}" font-family="Arial, sans-serif" '
        f'font-size="{FONT}" fill="{INK}" role="{role}" '
        'aria-labelledby="consort-title consort-desc" class="consort-diagram">'
        f'<title id="consort-title">{_text(flow.title)}</title>'
        f'<desc id="consort-desc">{_text(flow.description)}</desc>'
        '<defs><marker id="consort-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{LINE}"/></marker></defs>'
    )
    return head + "".join(body) + "</svg>"
