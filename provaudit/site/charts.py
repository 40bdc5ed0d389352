"""Horizontal bar charts drawn at build time as SVG: no chart library, no JavaScript.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by a ``<desc>`` that
lists every value, so a screen reader gets the numbers the bars show.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 560
LABEL_W = 200
BAR_H, GAP = 18, 6
TOP = 8


def bar_chart(
    chart_id: str,
    title: str,
    items: Sequence[tuple[str, int]],
    *,
    classes: Sequence[str] | None = None,
    unit: str = "records",
) -> Markup:
    """A labelled bar per (label, count); ``classes`` colours bars (e.g. by use category)."""
    if not items:
        return Markup(f'<p class="empty">{escape(title)}: none stated.</p>')
    top = max(count for _, count in items) or 1
    bar_area = WIDTH - LABEL_W - 60
    height = TOP * 2 + len(items) * (BAR_H + GAP)
    desc = "; ".join(f"{label}: {count} {unit}" for label, count in items)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    for i, (label, count) in enumerate(items):
        y = TOP + i * (BAR_H + GAP)
        w = max(1.0, bar_area * count / top)
        css = classes[i] if classes else "bar"
        shown = label if len(label) <= 26 else label[:25] + "…"
        out.append(
            f"<g><title>{escape(label)}: {count}</title>"
            f'<text class="label" x="{LABEL_W - 8}" y="{y + BAR_H / 2:.0f}" text-anchor="end" '
            f'dominant-baseline="central">{escape(shown)}</text>'
            f'<rect class="{escape(css)}" x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" rx="2"/>'
            f'<text class="value" x="{LABEL_W + w + 6:.1f}" y="{y + BAR_H / 2:.0f}" '
            f'dominant-baseline="central">{count}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))
