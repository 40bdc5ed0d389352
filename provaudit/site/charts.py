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
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-wide" role="img" viewBox="0 0 {WIDTH} {height}" '
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
    bars = [
        (label, [(count, classes[i] if classes else "bar", f"{label}: {count}")], str(count))
        for i, (label, count) in enumerate(items)
    ]
    narrow = _narrow(chart_id, title, desc, bars, top)
    return Markup("".join(out) + narrow)


OUTCOME_LABELS = {
    "omitted": "omitted",
    "same": "same category",
    "more_permissive": "more permissive than actual",
    "less_permissive": "less permissive than actual",
    "unaudited": "upstream not audited",
}


def outcome_chart(chart_id: str, title: str, rows: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """One stacked bar per source: its records split into omitted / same / more / less permissive.

    Bars are shares of the source's records (each bar is full width), so sources of different
    sizes compare; the ``<desc>`` and each segment's ``<title>`` give the counts.
    """
    outcomes = list(OUTCOME_LABELS)
    if not rows:
        return Markup(f'<p class="empty">{escape(title)}: no declaring source.</p>')
    bar_area = WIDTH - LABEL_W - 20
    # the legend wraps to a new line rather than running past the chart's edge
    legend: list[tuple[str, float, int]] = []  # (outcome, x, line)
    x, line = 8.0, 0
    for outcome in outcomes:
        words = OUTCOME_LABELS[outcome].split(" than")[0]
        step = 14 + 6.5 * len(words) + 12
        if x + step - 12 > WIDTH and x > 8:
            x, line = 8.0, line + 1
        legend.append((outcome, x, line))
        x += step
    legend_h = 22 + 16 * line
    height = TOP * 2 + len(rows) * (BAR_H + GAP) + legend_h
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{n} {OUTCOME_LABELS[o]}" for o, n in zip(outcomes, counts, strict=True))
        for label, counts in rows
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-wide audit-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    for i, (label, counts) in enumerate(rows):
        y = TOP + i * (BAR_H + GAP)
        total = sum(counts) or 1
        shown = label if len(label) <= 26 else label[:25] + "…"
        out.append(
            f'<text class="label" x="{LABEL_W - 8}" y="{y + BAR_H / 2:.0f}" text-anchor="end" '
            f'dominant-baseline="central">{escape(shown)}</text>'
        )
        x = float(LABEL_W)
        for outcome, n in zip(outcomes, counts, strict=True):
            if not n:
                continue
            w = bar_area * n / total
            out.append(
                f"<g><title>{escape(label)}: {n} {escape(OUTCOME_LABELS[outcome])} "
                f"({100 * n / total:.1f}%)</title>"
                f'<rect class="bar outcome-{outcome}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}"/></g>'
            )
            x += w
    top = TOP + len(rows) * (BAR_H + GAP) + 4
    for outcome, x, line in legend:
        y = top + 16 * line
        out.append(
            f'<rect class="bar outcome-{outcome}" x="{x:.0f}" y="{y}" width="10" height="10"/>'
            f'<text class="value" x="{x + 14:.0f}" y="{y + 5}" dominant-baseline="central">'
            f"{escape(OUTCOME_LABELS[outcome].split(' than')[0])}</text>"
        )
    out.append("</svg>")
    stacked = [
        (
            label,
            [
                (n, f"bar outcome-{o}", f"{label}: {n} {OUTCOME_LABELS[o]} ({100 * n / (sum(counts) or 1):.1f}%)")
                for o, n in zip(outcomes, counts, strict=True)
            ],
            "",
        )
        for label, counts in rows
    ]
    keys = [(f"bar outcome-{o}", OUTCOME_LABELS[o].split(" than")[0]) for o in outcomes]
    return Markup("".join(out) + _narrow(chart_id, title, desc, stacked, 0, keys))


NARROW_W = 340  # a phone's width: the same chart drawn label above bar, at its full 12px size
NARROW_BAR = 14


def _narrow(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[tuple[int, str, str]], str]],
    top: int,
    keys: Sequence[tuple[str, str]] = (),
) -> str:
    """The chart for a narrow screen (site.css shows one of the two): each label on its own line above
    its bar, so neither shrinks to unreadable nor scrolls out of view. ``rows``: (label, segments of
    (count, css class, title), value text); ``top`` scales single bars (0: each row is a full-width
    stack of shares)."""
    area = NARROW_W - 2 * TOP - 40
    step = 16 + NARROW_BAR + 8
    legend_lines, x, placed = 0, 8.0, []
    for css, text in keys:
        w = 14 + 6.5 * len(text) + 12
        if x + w - 12 > NARROW_W and x > 8:
            x, legend_lines = 8.0, legend_lines + 1
        placed.append((css, text, x, legend_lines))
        x += w
    height = TOP * 2 + len(rows) * step + (16 * (legend_lines + 1) + 6 if keys else 0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-narrow" role="img" '
        f'viewBox="0 0 {NARROW_W} {height}" width="{NARROW_W}" height="{height}" '
        f'aria-labelledby="{chart_id}-nt {chart_id}-nd">',
        f'<title id="{chart_id}-nt">{escape(title)}</title><desc id="{chart_id}-nd">{escape(desc)}</desc>',
    ]
    for i, (label, segments, value) in enumerate(rows):
        y = TOP + i * step
        shown = label if len(label) <= 48 else label[:47] + "…"
        out.append(f'<text class="label" x="{TOP}" y="{y + 7}" dominant-baseline="central">{escape(shown)}</text>')
        total = top or sum(n for n, _, _ in segments) or 1
        x = float(TOP)
        for n, css, tip in segments:
            if not n:
                continue
            w = max(1.0, area * n / total) if top else area * n / total
            out.append(
                f'<g><title>{escape(tip)}</title><rect class="{escape(css)}" x="{x:.1f}" y="{y + 16}" '
                f'width="{w:.1f}" height="{NARROW_BAR}"/></g>'
            )
            x += w
        if value:
            out.append(
                f'<text class="value" x="{x + 6:.1f}" y="{y + 16 + NARROW_BAR / 2:.0f}" '
                f'dominant-baseline="central">{escape(value)}</text>'
            )
    base = TOP + len(rows) * step + 4
    for css, text, x, line in placed:
        y = base + 16 * line
        out.append(
            f'<rect class="{css}" x="{x:.0f}" y="{y}" width="10" height="10"/>'
            f'<text class="value" x="{x + 14:.0f}" y="{y + 5}" dominant-baseline="central">{escape(text)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
