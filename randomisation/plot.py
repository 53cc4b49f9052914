"""The design report's plot: P(|imbalance| >= k) for each method, as grouped bars drawn as
inline SVG (no plotting library, no script). It scales to the width of the page."""

from collections.abc import Mapping
from html import escape

# NHS blue, dark pink, green and purple: each at least 3:1 against white, and a method's bar
# always stands in the same place of its group, in the legend's order.
COLOURS = ("#005eb8", "#7c2855", "#007f3b", "#330072")


def imbalance_svg(
    series: Mapping[str, Mapping[str, float]], width: int = 640, height: int = 240
) -> str:
    """`series` maps each method's label to its P(|imbalance| >= k) by k."""
    ks = sorted({int(k) for probs in series.values() for k in probs})[:20]
    if not ks:
        return ""
    names = list(series)
    left, right, bottom, top = 40, 10, 44, 10
    slot = (width - left - right) / len(ks)
    bar = (slot - 4) / len(names)
    plot_h = height - bottom - top
    base = top + plot_h
    label = "Probability that the final imbalance is at least k, for " + " and ".join(names)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="imbalance-plot" role="img" '
        f'aria-label="{escape(label)}">',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#4c6272"/>',
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#4c6272"/>',
    ]
    for tick in (0, 0.5, 1):
        y = top + plot_h * (1 - tick)
        parts.append(
            f'<text x="{left - 6}" y="{y + 4}" font-size="10" text-anchor="end">{tick:g}</text>'
        )
    for i, k in enumerate(ks):
        x0 = left + i * slot + 2
        for j, name in enumerate(names):
            p = series[name].get(str(k), 0.0)
            x, h = x0 + j * bar, plot_h * p
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(name)}: '
                f"P(|imbalance| ≥ {k}) = {p:.3f}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + (slot - 4) / 2:.1f}" y="{base + 14}" font-size="10" '
            f'text-anchor="middle">{k}</text>'
        )
    parts.append(
        f'<text x="{left + (width - left - right) / 2}" y="{base + 28}" font-size="10" '
        'text-anchor="middle">k (final imbalance between the arms)</text>'
    )
    x = left
    for j, name in enumerate(names):
        parts.append(
            f'<rect x="{x}" y="{height - 10}" width="10" height="10" '
            f'fill="{COLOURS[j % len(COLOURS)]}"/>'
            f'<text x="{x + 14}" y="{height - 1}" font-size="10">{escape(name)}</text>'
        )
        x += 14 + 7 * len(name) + 16
    parts.append("</svg>")
    return "".join(parts)
