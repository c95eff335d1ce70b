"""Server-rendered SVG charts of goals (the annual report's, and the gateway's public goal pages;
here in shared/ because it is presentation, not any service's domain): indicators over the
years, one panel per indicator (indicators have their own units, so they never share an axis),
the outcome as a solid line with round markers, the target as a dashed line with its own
markers, and optionally comparison municipalities (thin grey lines) and their mean (dotted,
square markers).

Pure: data in, SVG text out, no I/O, so the charts read the same in a browser, in print and in
the PDF, and need no script. Each chart is an image with a title and a description
(`role="img"`, `<title>`, `<desc>`); the data behind it is given as a table beside it
(`chart_table`), the text alternative a screen reader or a reviewer of the numbers reads.
Lines differ by dash pattern and marker shape as well as colour, so they read in black and
white too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

#: one year of an indicator's comparison: {"comparisons": [{"code","name","value"}...],
#: "mean": float | None, "source": "Kolada"} (services/reports/comparisons.py will supply it)
Comparison = Mapping[str, Any]

WIDTH = 640
#: panels side by side, and their size (px): small multiples, so a goal with many indicators
#: takes pages, not dozens of them
COLUMNS = 2
PANEL_WIDTH = WIDTH // COLUMNS
PANEL_HEIGHT = 165
#: inside a panel: room for the values (left), the title (top) and the years (bottom)
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 40, 18
#: panels in one image: 5 rows of 2 and the legend fit an A4 page at the page's width
PANELS_PER_IMAGE = 10
#: a title longer than this many characters goes on two lines (then ends in an ellipsis)
TITLE_CHARACTERS = 48
TICKS = 3
OUTCOME_COLOUR = "#1f4e79"
TARGET_COLOUR = "#b35900"
MEAN_COLOUR = "#555555"
OTHER_COLOUR = "#a6a6a6"
NONE = "\u2013"  # an en dash: no value


@dataclass(frozen=True)
class Panel:
    """One indicator over the years: outcome and target per year (None where there is none)."""

    key: str
    name: str
    unit: str
    years: Sequence[int]
    values: Mapping[int, float | None]
    targets: Mapping[int, float | None]
    comparisons: Mapping[int, Comparison] | None = None
    sources: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scale:
    """A linear map of the values `low`..`high` onto the pixels `bottom`..`top`."""

    low: float
    high: float
    bottom: float
    top: float

    def y(self, value: float) -> float:
        share = (float(value) - self.low) / (self.high - self.low)
        return float(self.bottom - share * (self.bottom - self.top))


def nice_step(span: float, ticks: int = TICKS) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ten giving about `ticks` intervals."""
    raw = span / max(ticks, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover - the loop ends at 10


def value_range(numbers: Sequence[float]) -> tuple[float, float, float]:
    """(low, high, step) of an axis that shows every number with some room (none sits on the
    axis): one value or equal values get a span around them, no values get 0..1, negative
    values stay below zero."""
    finite = [n for n in numbers if math.isfinite(n)]
    if not finite:
        return 0.0, 1.0, 0.25
    low, high = min(finite), max(finite)
    # a margin, so no point sits on the axis or the frame
    pad = (high - low) * 0.08 if high > low else abs(low) * 0.1 or 1.0
    low, high = low - pad, high + pad
    step = nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def ticks(low: float, high: float, step: float) -> list[float]:
    count = round((high - low) / step)
    return [low + i * step for i in range(count + 1)]


def number(value: float | None, decimals: int | None = None) -> str:
    """A number the Swedish way: decimal comma, space between thousands, an en dash for none."""
    if value is None:
        return NONE
    if decimals is None:
        decimals = 0 if float(value).is_integer() else (1 if abs(value) >= 10 else 2)
    text = f"{value:,.{decimals}f}".replace(",", "\u00a0").replace(".", ",")
    return text.replace("-", "\u2212")


def _comparison_values(panel: Panel) -> list[float]:
    found: list[float] = []
    for year in panel.years:
        item = (panel.comparisons or {}).get(year)
        if not item:
            continue
        if item.get("mean") is not None:
            found.append(float(item["mean"]))
        found += [
            float(c["value"]) for c in item.get("comparisons", ()) if c.get("value") is not None
        ]
    return found


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of points without a gap: a missing year breaks the line, never bridges it."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [r for r in runs if r]


def _path(run: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in run)


def _line(
    cls: str,
    xs: Mapping[int, float],
    scale: Scale,
    series: Mapping[int, float | None],
    years: Sequence[int],
    style: str,
) -> list[str]:
    """Polylines of one series (one per run without gaps; a lone point gets a short tick so a
    single target still shows as a line)."""
    points: list[tuple[float, float | None]] = []
    for year in years:
        value = series.get(year)
        points.append((xs[year], None if value is None else scale.y(float(value))))
    out = []
    for run in _segments(points):
        if len(run) == 1:
            (x, y) = run[0]
            run = [(x - 14, y), (x + 14, y)]
        out.append(f'<polyline class="{cls}" points="{_path(run)}" fill="none" {style}/>')
    return out


def _markers(
    cls: str,
    xs: Mapping[int, float],
    scale: Scale,
    series: Mapping[int, float | None],
    shape: str,
    colour: str,
) -> list[str]:
    """The series' points as one path (circles, diamonds or squares): one element, not one a
    point, since a municipality's report draws thousands of them."""
    parts = []
    for year, value in series.items():
        if value is None or year not in xs:
            continue
        x, y = xs[year], scale.y(float(value))
        if shape == "circle":
            parts.append(f"M{x - 3.5:.1f},{y:.1f}a3.5,3.5 0 1,0 7,0a3.5,3.5 0 1,0 -7,0")
        elif shape == "diamond":
            parts.append(f"M{x:.1f},{y - 4.5:.1f}l4.5,4.5l-4.5,4.5l-4.5,-4.5z")
        else:
            parts.append(f"M{x - 3:.1f},{y - 3:.1f}h6v6h-6z")
    if not parts:
        return []
    paint = (
        f'fill="white" stroke="{colour}" stroke-width="1.5"'
        if shape == "diamond"
        else f'fill="{colour}"'
    )
    return [f'<path class="{cls}" d="{"".join(parts)}" {paint}/>']


@dataclass(frozen=True)
class Frame:
    """Where a panel's plot lies in the image (px): x from `left` to `right`, y from `top`
    (the highest value) to `bottom` (the x axis)."""

    left: float
    right: float
    top: float
    bottom: float


def title_lines(text: str, width: int = TITLE_CHARACTERS) -> list[str]:
    """A panel title on one line, or two (broken at a space; the rest ends in an ellipsis)."""
    if len(text) <= width:
        return [text]
    cut = text.rfind(" ", 0, width + 1)
    cut = cut if cut > 0 else width
    rest = text[cut:].strip()
    return [text[:cut], rest if len(rest) <= width else rest[: width - 1].rstrip() + "\u2026"]


def _axes(
    panel: Panel,
    frame: Frame,
    scale: Scale,
    step: float,
    xs: Mapping[int, float],
    years_shown: bool,
) -> list[str]:
    """Title with the unit, grid with its values, the x axis, and the years when this panel
    shows them (panels of one image that share their years show them once, under the last
    row): a report draws a thousand panels, and every text costs its layout."""
    left, right, bottom = frame.left, frame.right, frame.bottom
    values = ticks(scale.low, scale.high, step)
    grid = "".join(f"M{left:.0f},{scale.y(t):.1f}H{right:.0f}" for t in values)
    title = title_lines(f"{panel.name} ({panel.unit})")
    x, y = left - LEFT + 4, frame.top - TOP + 13
    out = [
        f'<text class="panel-title" x="{x:.0f}" y="{y + 12 * n:.0f}" font-weight="bold">'
        f"{escape(line)}</text>"
        for n, line in enumerate(title)
    ]
    out += [
        f'<path class="grid" d="{grid}" stroke="#dddddd" stroke-width="1"/>',
        '<g class="ticks" text-anchor="end">',
        *(f'<text x="{left - 5:.0f}" y="{scale.y(t) + 3:.1f}">{number(t)}</text>' for t in values),
        "</g>",
    ]
    if scale.low < 0 < scale.high:
        out.append(
            f'<path class="zero" d="M{left:.0f},{scale.y(0.0):.1f}H{right:.0f}" '
            'stroke="#333333" stroke-width="1"/>'
        )
    out.append(
        f'<path class="axis" d="M{left:.0f},{bottom:.1f}H{right:.0f}" stroke="#333333" '
        'stroke-width="1"/>'
    )
    if years_shown:
        out.append('<g class="years" text-anchor="middle">')
        out += [f'<text x="{x:.1f}" y="{bottom + 13:.1f}">{year}</text>' for year, x in xs.items()]
        out.append("</g>")
    return out


def _panel(panel: Panel, left: float, top: float, years_shown: bool = True) -> list[str]:
    """One indicator's panel with its top left corner at (left, top): axes with labels,
    comparisons, target, outcome."""
    frame = Frame(left + LEFT, left + PANEL_WIDTH - RIGHT, top + TOP, top + PANEL_HEIGHT - BOTTOM)
    years = list(panel.years)
    mean = {y: (panel.comparisons or {}).get(y, {}).get("mean") for y in years}
    numbers = [
        float(v) for v in [*panel.values.values(), *panel.targets.values()] if v is not None
    ] + _comparison_values(panel)
    low, high, step = value_range(numbers)
    scale = Scale(low, high, frame.bottom, frame.top)
    slot = (frame.right - frame.left) / max(len(years), 1)
    xs = {y: frame.left + slot * (i + 0.5) for i, y in enumerate(years)}
    out = [f'<g class="panel" data-indicator="{escape(panel.key)}">']
    out += _axes(panel, frame, scale, step, xs, years_shown)
    if not numbers:
        out.append(
            f'<text class="empty" x="{(frame.left + frame.right) / 2:.1f}" '
            f'y="{(frame.top + frame.bottom) / 2:.1f}" text-anchor="middle">'
            "Inga värden registrerade</text>"
        )
    others: dict[str, dict[int, float | None]] = {}
    for year in years:
        for item in (panel.comparisons or {}).get(year, {}).get("comparisons", ()):
            name = str(item.get("name") or item.get("code"))
            others.setdefault(name, {})[year] = item.get("value")
    for series in others.values():
        style = f'stroke="{OTHER_COLOUR}" stroke-width="1"'
        out += _line("comparison", xs, scale, series, years, style)
    if any(v is not None for v in mean.values()):
        style = f'stroke="{MEAN_COLOUR}" stroke-width="1.5" stroke-dasharray="1 3"'
        out += _line("comparison-mean", xs, scale, mean, years, style)
        out += _markers("comparison-mean-point", xs, scale, mean, "square", MEAN_COLOUR)
    style = f'stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 4"'
    out += _line("target-line", xs, scale, panel.targets, years, style)
    out += _markers("target-point", xs, scale, panel.targets, "diamond", TARGET_COLOUR)
    style = f'stroke="{OUTCOME_COLOUR}" stroke-width="2.5"'
    out += _line("outcome-line", xs, scale, panel.values, years, style)
    out += _markers("outcome-point", xs, scale, panel.values, "circle", OUTCOME_COLOUR)
    out.append("</g>")
    return out


def describe(title: str, panels: Sequence[Panel]) -> str:
    """The chart in words (its `<desc>`): per indicator, the latest outcome against its target."""
    parts = [f"Diagram över {title}: utfall (heldragen linje, runda punkter) och målvärde "
             "(streckad linje, romber) per år."]  # fmt: skip
    for panel in panels:
        latest = next((y for y in reversed(panel.years) if panel.values.get(y) is not None), None)
        if latest is None:
            parts.append(f"{panel.name}: inga värden.")
            continue
        target = panel.targets.get(latest)
        text = f"{panel.name} {latest}: {number(panel.values[latest])} {panel.unit}"
        if target is not None:
            text += f", målvärde {number(target)}"
        parts.append(text + ".")
    if any(p.comparisons for p in panels):
        parts.append("Grå linjer: jämförelsekommuner; prickad linje: deras medelvärde.")
    return " ".join(parts)


def goal_chart(chart_id: str, title: str, panels: Sequence[Panel]) -> Markup:
    """Inline SVG of a strategic goal's indicators, one panel each, with title and description;
    the table of its data is `chart_table`. At most PANELS_PER_IMAGE panels an image, so each
    fits a printed page (an image never breaks across pages): the first is `chart_id`, the
    next `chart_id-2`, and so on."""
    groups = [panels[i : i + PANELS_PER_IMAGE] for i in range(0, len(panels), PANELS_PER_IMAGE)]
    images = []
    for n, group in enumerate(groups or [[]], start=1):
        part = "" if len(groups) <= 1 else f" (del {n} av {len(groups)})"
        images.append(_image(chart_id if n == 1 else f"{chart_id}-{n}", title + part, group))
    return Markup("\n".join(images))


def _image(image_id: str, title: str, panels: Sequence[Panel]) -> str:
    rows = max((len(panels) + COLUMNS - 1) // COLUMNS, 1)
    height = rows * PANEL_HEIGHT + 28
    cid = escape(image_id)
    out = [
        f'<svg class="goal-chart" id="{cid}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, sans-serif" font-size="10">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(describe(title, panels))}</desc>',
    ]
    shared = len({tuple(p.years) for p in panels}) == 1
    for n, panel in enumerate(panels):
        row, column = divmod(n, COLUMNS)
        last_row = n + COLUMNS >= len(panels)
        out += _panel(
            panel, column * PANEL_WIDTH, row * PANEL_HEIGHT, years_shown=last_row or not shared
        )
    out += _legend(height - 12, any(p.comparisons for p in panels))
    out.append("</svg>")
    return "\n".join(out)


def _legend(y: float, comparisons: bool) -> list[str]:
    items = [
        (f'stroke="{OUTCOME_COLOUR}" stroke-width="2.5"', "Utfall"),
        (f'stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 4"', "Målvärde"),
    ]
    if comparisons:
        items += [
            (
                f'stroke="{MEAN_COLOUR}" stroke-width="1.5" stroke-dasharray="1 3"',
                "Medelvärde, jämförelsekommuner",
            ),
            (f'stroke="{OTHER_COLOUR}" stroke-width="1"', "Jämförelsekommun"),
        ]
    out = ['<g class="legend">']
    x = float(LEFT - 36)
    for style, label in items:
        out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 24:.1f}" y2="{y:.1f}" {style}/>')
        out.append(f'<text x="{x + 30:.1f}" y="{y + 4:.1f}" font-size="10">{escape(label)}</text>')
        x += 34 + 6.5 * len(label) + 14
    out.append("</g>")
    return out


def chart_table(panels: Sequence[Panel]) -> list[dict[str, Any]]:
    """The chart's data, row by row (indicator, year, outcome, target, comparison mean), for the
    table that is its text alternative."""
    rows = []
    for panel in panels:
        for year in panel.years:
            item = (panel.comparisons or {}).get(year) or {}
            rows.append(
                {
                    "indicator": panel.name,
                    "unit": panel.unit,
                    "year": year,
                    "value": panel.values.get(year),
                    "target": panel.targets.get(year),
                    "mean": item.get("mean"),
                    "comparison_source": item.get("source"),
                    "source": panel.sources.get(year),
                }
            )
    return rows


def chart_matrix(panels: Sequence[Panel]) -> tuple[list[int], list[dict[str, Any]]]:
    """The chart's data as a table with a column per year and a row per indicator: each cell
    the outcome, the target and the comparison mean of that year (None where there is none)."""
    years = sorted({y for p in panels for y in p.years})
    rows = []
    for panel in panels:
        cells = []
        for year in years:
            item = (panel.comparisons or {}).get(year) or {}
            cells.append(
                {
                    "year": year,
                    "value": panel.values.get(year),
                    "target": panel.targets.get(year),
                    "mean": item.get("mean"),
                    "source": panel.sources.get(year),
                }
            )
        rows.append({"indicator": panel.name, "unit": panel.unit, "cells": cells})
    return years, rows
