"""Server-rendered SVG bar charts: geometry computed and the `<svg>` written here (`svg`);
the template adds only the title, the legend and the empty state around it.

No script is needed to read them: every bar has a title with its exact value, axes are
labelled, and the palette steps through light and dark so stacks stay apart in grayscale
(a thin light gap between stacked segments helps too).

A chart whose columns lead somewhere (a day to its hours) is a group of links, one per column
with data, each named with its bucket and total; the axes and bars are hidden from assistive
technology, whose users read the same numbers in the table below the chart. A chart without
links is one image named by its title. Either way no link sits inside an image.

Colours are classes the stylesheet fills for the light and the dark theme (`chart__s0` to
`chart__s7`, `chart__grid`, `chart__axis`); the fill attributes are what the chart shows
where the stylesheet is absent, as in a saved SVG.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

from django.utils.safestring import mark_safe

# Alternating dark and light, so neighbours differ in lightness, not only in hue. The
# stylesheet's --chart-0 to --chart-7 are these in the light theme.
PALETTE = ["#1f3a5f", "#e8a87c", "#3d7068", "#c9d6df", "#7c2d12", "#f2cc8f", "#5b4e7e", "#a3c4bc"]

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 12, 46
MAX_X_LABELS = 12  # "Nov 30" labels fit about this many to the plot's width


def _n(value: float) -> str:
    """An SVG coordinate, formatted once here rather than by a template filter per use."""
    return f"{value:.2f}"


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    fill: str
    title: str
    series: int


@dataclass(frozen=True)
class Column:
    x: str
    width: str
    label: str
    show_label: bool
    title: str
    href: str | None
    bars: list[Bar]


@dataclass
class Chart:
    columns: list[Column]
    y_ticks: list[tuple[str, str]]
    legend: list[tuple[str, str, int]]
    x_title: str
    y_title: str
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_bottom: int = HEIGHT - BOTTOM
    plot_right: int = WIDTH - RIGHT
    empty: bool = field(default=False)
    # What following a column's link shows, for its accessible name ("Show its hours").
    link_action: str = "Show in detail"

    @property
    def linked(self) -> bool:
        return any(column.href for column in self.columns)

    @property
    def svg(self) -> str:
        return svg(self)


def nice_ceiling(value: int | Decimal) -> Decimal:
    """The round number at or above `value` that the axis ends on (1, 2, 2.5 or 5 times a
    power of ten). Exact: a cost axis is money, so the scale is Decimal, not float."""
    if value <= 0:
        return Decimal(1)
    exact = Decimal(value)
    magnitude = Decimal(10) ** exact.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
        if exact <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def compact(value: int | Decimal) -> str:
    """Axis numbers: 1,200 → 1.2k, 3,400,000 → 3.4M, 2.5 → 2.5."""
    exact = Decimal(value)
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if abs(exact) >= size:
            text = f"{exact / size:.2f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{exact.normalize():f}"


def _labelled(index: int, last: int, every: int) -> bool:
    """Whether the x axis labels column `index` of `0..last`: the first and the last always,
    every `every`th between, none so close to the last that their texts would overlap."""
    if index in (0, last):
        return True
    return index % every == 0 and last - index >= every


def stacked_bars[B](
    buckets: Sequence[B],
    series: Sequence[str],
    value: Callable[[B, str], int | Decimal],
    *,
    label: Callable[[B], str],
    href: Callable[[B], str | None] = lambda bucket: None,
    fmt: Callable[[int | Decimal], str] = lambda v: f"{v:,}",
    y_axis_label: Callable[[Decimal, Decimal], str] = lambda value, top: compact(value),
    x_title: str,
    y_title: str,
    title: str,
    whole_numbers: bool = False,
    link_action: str = "Show in detail",
) -> Chart:
    """Columns for `buckets`, each a stack of `series` whose heights `value` gives (counts
    as int, money as Decimal cents; the scale stays exact, only coordinates are floats); a
    column with data links to `href(bucket)` when that is given, `link_action` saying what
    the link shows. `whole_numbers` (counts) keeps axis ticks on whole numbers."""
    totals = [sum((value(b, s) for s in series), 0) for b in buckets]
    highest = max(totals, default=0)
    top = nice_ceiling(highest)
    if whole_numbers and highest <= 20:
        top = Decimal(max(4, math.ceil(highest / 4) * 4))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(buckets), 1)
    bar_width = max(1.0, slot * 0.72)
    every = max(1, math.ceil(len(buckets) / MAX_X_LABELS))
    last = len(buckets) - 1
    slots = {name: index % len(PALETTE) for index, name in enumerate(series)}
    columns = []
    for index, (bucket, total) in enumerate(zip(buckets, totals, strict=True)):
        x = LEFT + index * slot + (slot - bar_width) / 2
        y = float(HEIGHT - BOTTOM)
        text = label(bucket)
        bars = []
        for name in series:
            amount = value(bucket, name)
            if not amount:
                continue
            height = float(amount / top) * plot_height
            y -= height
            bars.append(
                Bar(
                    _n(x),
                    _n(y),
                    _n(bar_width),
                    _n(height),
                    PALETTE[slots[name]],
                    f"{text} · {name}: {fmt(amount)}",
                    slots[name],
                )
            )
        columns.append(
            Column(
                x=_n(LEFT + index * slot),
                width=_n(slot),
                label=text,
                show_label=_labelled(index, last, every),
                title=f"{text}: {fmt(total)} in all",
                # An empty bucket has nothing to show one level down.
                href=href(bucket) if total else None,
                bars=bars,
            )
        )
    ticks = [
        (_n(HEIGHT - BOTTOM - plot_height * i / 4), y_axis_label(top * i / 4, top))
        for i in range(5)
    ]
    return Chart(
        columns=columns,
        y_ticks=ticks,
        legend=[(name, PALETTE[slots[name]], slots[name]) for name in series],
        x_title=x_title,
        y_title=y_title,
        title=title,
        empty=not any(totals),
        link_action=link_action,
    )


def svg(chart: Chart) -> str:
    """The chart's `<svg>`, built here rather than in a template loop: a 90-day chart has
    hundreds of bars, and template lookups per attribute would dominate the page's time.
    Every text is escaped; the result is safe to mark so."""
    grey = 'font-size="11" fill="#6b6860"'
    title = escape(chart.title)
    linked = chart.linked
    role = (
        f'role="group" aria-label="{title}; each column with data is a link"'
        if linked
        else f'role="img" aria-label="{title}"'
    )
    parts = [
        f'<svg viewBox="0 0 {chart.width} {chart.height}" {role} class="chart__svg">',
        '<g aria-hidden="true">',
    ]
    for y, text in chart.y_ticks:
        parts.append(
            f'<line x1="{chart.left}" x2="{chart.plot_right}" y1="{y}" y2="{y}" stroke="#e5e2d9" stroke-width="1" class="chart__grid"/>'
            f'<text x="{chart.left - 8}" y="{y}" text-anchor="end" dominant-baseline="middle" {grey}>{escape(text)}</text>'
        )
    parts.append("</g>")
    action = escape(chart.link_action)
    for column in chart.columns:
        hit = (
            f'<rect x="{column.x}" y="12" width="{column.width}" height="{chart.plot_bottom - 12}" '
            'fill="transparent" class="chart__hit"/>'
        )
        bars = "".join(
            f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}" fill="{bar.fill}" '
            f'stroke="#ffffff" stroke-width="0.75" class="chart__bar chart__s{bar.series}"><title>{escape(bar.title)}</title></rect>'
            for bar in column.bars
        )
        if column.href:
            href = escape(column.href)
            name = f"{escape(column.title)}. {action}"
            parts.append(
                f'<a href="{href}" hx-get="{href}" hx-target="#report" hx-swap="outerHTML" '
                f'hx-push-url="true" class="chart__link" aria-label="{name}">'
                f"<title>{escape(column.title)} · click for detail</title>{hit}"
                f'<g aria-hidden="true">{bars}</g></a>'
            )
        elif column.bars:
            hidden = ' aria-hidden="true"' if linked else ""
            parts.append(f"<g{hidden}><title>{escape(column.title)}</title>{hit}{bars}</g>")
    middle = chart.plot_bottom - 60
    parts.append('<g aria-hidden="true">')
    last = len(chart.columns) - 1
    for index, column in enumerate(chart.columns):
        if column.show_label:
            # Centred under their column; the first and last kept inside the plot.
            x, anchor = _n(float(column.x) + float(column.width) / 2), "middle"
            if index == 0 and last > 0:
                x, anchor = column.x, "start"
            elif index == last and last > 0:
                x, anchor = _n(float(column.x) + float(column.width)), "end"
            parts.append(
                f'<text x="{x}" y="{chart.plot_bottom + 16}" text-anchor="{anchor}" '
                f'{grey} class="chart__xlabel">{escape(column.label)}</text>'
            )
    parts.append(
        f'<line x1="{chart.left}" x2="{chart.plot_right}" y1="{chart.plot_bottom}" y2="{chart.plot_bottom}" stroke="#cfcabd" class="chart__axis"/>'
        f'<text x="{chart.plot_right}" y="{chart.height - 4}" text-anchor="end" {grey}>{escape(chart.x_title)}</text>'
        f'<text x="12" y="{middle}" transform="rotate(-90 12 {middle})" text-anchor="middle" {grey}>{escape(chart.y_title)}</text>'
        "</g></svg>"
    )
    return mark_safe("".join(parts))


def number_cells(values: Sequence[str | None]) -> str:
    """A table row's numeric cells, already formatted, as HTML: one template variable per row
    instead of a loop per cell (a 90-day table over 20 workspaces has 1,800)."""
    empty = '<td class="num"><span class="muted">—</span></td>'
    return mark_safe(
        "".join(f'<td class="num">{escape(value)}</td>' if value else empty for value in values)
    )
