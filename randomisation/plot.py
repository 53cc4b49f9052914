"""The design report's plot: P(|imbalance| >= k) as bars, drawn as inline SVG (no plotting
library, no script)."""

from html import escape


def imbalance_svg(probabilities: dict[str, float], width: int = 560, height: int = 220) -> str:
    items = list(probabilities.items())[:20]
    if not items:
        return ""
    left, bottom, top = 40, 30, 10
    bar = (width - left - 10) / len(items)
    plot_h = height - bottom - top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" aria-label="Probability that the final imbalance is at least k">',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#5b6b7a"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#5b6b7a"/>',
    ]
    for tick in (0, 0.5, 1):
        y = top + plot_h * (1 - tick)
        parts.append(
            f'<text x="{left - 6}" y="{y + 4}" font-size="10" text-anchor="end">{tick:g}</text>'
        )
    for i, (k, p) in enumerate(items):
        x, h = left + i * bar + 2, plot_h * p
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 4:.1f}" '
            f'height="{h:.1f}" fill="#005eb8"><title>P(|imbalance| ≥ {escape(k)}) = '
            f"{p:.3f}</title></rect>"
        )
        parts.append(
            f'<text x="{x + (bar - 4) / 2:.1f}" y="{height - 12}" font-size="10" '
            f'text-anchor="middle">{escape(k)}</text>'
        )
    parts.append(
        f'<text x="{width / 2}" y="{height - 1}" font-size="10" text-anchor="middle">'
        "k (final imbalance between the arms)</text></svg>"
    )
    return "".join(parts)
