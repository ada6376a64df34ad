"""Daily usage as server-side SVG bar charts: one small chart per category (each in its own
unit and scale, since minutes, segments and number charges do not share an axis).

The markup is built here, every text escaped; the page puts a table of the same figures next
to it for screen readers and for anyone who wants the numbers. Bar geometry is computed with
decimals too (pixels, not money, but no float is needed).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from html import escape

from ratecard.web.overview import Series

WIDTH = 640
HEIGHT = 140
LEFT = 56  # room for the scale's labels
BOTTOM = 22  # room for the day labels
TOP = 8
BAR_GAP = Decimal("0.2")  # share of a day's slot left empty between bars
_PIXEL = Decimal("0.1")


def _px(value: Decimal) -> str:
    return str(value.quantize(_PIXEL, rounding=ROUND_HALF_UP))


def bar_chart(series: Series, chart_id: str) -> str:
    """An SVG bar chart of ``series`` (one bar per day), labelled for assistive technology."""
    values = series.values
    peak = max(values, default=Decimal(0))
    plot_w = Decimal(WIDTH - LEFT - 8)
    plot_h = Decimal(HEIGHT - TOP - BOTTOM)
    slot = plot_w / max(len(values), 1)
    bar_w = slot * (1 - BAR_GAP)
    title = f"Daily {series.category} usage, in {series.unit}"
    desc = (
        f"{len(values)} days; total {series.total:f} {series.unit}; "
        f"highest day {peak:f} {series.unit}"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - 8}" '
        f'y2="{HEIGHT - BOTTOM}"/>',
        f'<text class="scale" x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end">'
        f"{escape(f'{peak:f}')}</text>",
        f'<text class="scale" x="{LEFT - 6}" y="{HEIGHT - BOTTOM}" text-anchor="end">0</text>',
    ]
    for index, value in enumerate(values):
        height = plot_h * value / peak if peak > 0 else Decimal(0)
        x = LEFT + slot * index + (slot - bar_w) / 2
        y = HEIGHT - BOTTOM - height
        parts.append(
            f'<rect class="day-bar" x="{_px(x)}" y="{_px(y)}" width="{_px(bar_w)}" '
            f'height="{_px(height)}"><title>day {index + 1}: {escape(f"{value:f}")} '
            f"{escape(series.unit)}</title></rect>"
        )
    for index in sorted({0, len(values) // 2, len(values) - 1}):
        if 0 <= index < len(values):
            x = LEFT + slot * index + slot / 2
            parts.append(
                f'<text class="day" x="{_px(x)}" y="{HEIGHT - 6}" text-anchor="middle">'
                f"{index + 1}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
