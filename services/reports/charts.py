"""Server-rendered SVG charts of the annual report: each strategic goal's indicators over the
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
PANEL_HEIGHT = 190
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 36
TICKS = 4
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
    out = []
    for year, value in series.items():
        if value is None or year not in xs:
            continue
        x, y = xs[year], scale.y(float(value))
        if shape == "circle":
            out.append(f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
        elif shape == "diamond":
            out.append(
                f'<path class="{cls}" d="M{x:.1f},{y - 4.5:.1f} l4.5,4.5 l-4.5,4.5 l-4.5,-4.5 z" '
                f'fill="white" stroke="{colour}" stroke-width="1.5"/>'
            )
        else:
            out.append(
                f'<rect class="{cls}" x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" '
                f'fill="{colour}"/>'
            )
    return out


def _panel(panel: Panel, top: float) -> list[str]:
    """One indicator's panel at `top`: frame, axes with labels, comparisons, target, outcome."""
    bottom = top + PANEL_HEIGHT - BOTTOM
    inner_top = top + TOP
    years = list(panel.years)
    mean = {y: (panel.comparisons or {}).get(y, {}).get("mean") for y in years}
    numbers = [
        float(v) for v in [*panel.values.values(), *panel.targets.values()] if v is not None
    ] + _comparison_values(panel)
    low, high, step = value_range(numbers)
    scale = Scale(low, high, bottom, inner_top)
    span = WIDTH - LEFT - RIGHT
    slot = span / max(len(years), 1)
    xs = {y: LEFT + slot * (i + 0.5) for i, y in enumerate(years)}
    out = [
        f'<g class="panel" data-indicator="{escape(panel.key)}">',
        f'<text class="panel-title" x="{LEFT}" y="{top + 16:.1f}" font-size="12" '
        f'font-weight="bold">{escape(panel.name)}</text>',
        f'<text class="axis-label" x="12" y="{(inner_top + bottom) / 2:.1f}" font-size="10" '
        f'transform="rotate(-90 12 {(inner_top + bottom) / 2:.1f})" text-anchor="middle">'
        f"{escape(panel.unit)}</text>",
    ]
    for tick in ticks(low, high, step):
        y = scale.y(tick)
        out.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            'stroke="#dddddd" stroke-width="1"/>'
        )
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 3:.1f}" font-size="10" '
            f'text-anchor="end">{number(tick)}</text>'
        )
    if low < 0 < high:
        y0 = scale.y(0.0)
        out.append(
            f'<line class="zero" x1="{LEFT}" y1="{y0:.1f}" x2="{WIDTH - RIGHT}" y2="{y0:.1f}" '
            'stroke="#333333" stroke-width="1"/>'
        )
    out.append(
        f'<line class="axis" x1="{LEFT}" y1="{bottom:.1f}" x2="{WIDTH - RIGHT}" y2="{bottom:.1f}" '
        'stroke="#333333" stroke-width="1"/>'
    )
    for year, x in xs.items():
        out.append(
            f'<text class="year" x="{x:.1f}" y="{bottom + 14:.1f}" font-size="10" '
            f'text-anchor="middle">{year}</text>'
        )
    out.append(
        f'<text class="axis-label" x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{bottom + 28:.1f}" '
        'font-size="10" text-anchor="middle">År</text>'
    )
    if not numbers:
        out.append(
            f'<text class="empty" x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" '
            f'y="{(inner_top + bottom) / 2:.1f}" font-size="11" text-anchor="middle">'
            "Inga värden registrerade</text>"
        )
    others: dict[str, dict[int, float | None]] = {}
    for year in years:
        for item in (panel.comparisons or {}).get(year, {}).get("comparisons", ()):
            others.setdefault(str(item.get("name") or item.get("code")), {})[year] = item.get(
                "value"
            )
    for series in others.values():
        out += _line(
            "comparison", xs, scale, series, years, f'stroke="{OTHER_COLOUR}" stroke-width="1"'
        )
    if any(v is not None for v in mean.values()):
        out += _line(
            "comparison-mean",
            xs,
            scale,
            mean,
            years,
            f'stroke="{MEAN_COLOUR}" stroke-width="1.5" stroke-dasharray="1 3"',
        )
        out += _markers("comparison-mean-point", xs, scale, mean, "square", MEAN_COLOUR)
    out += _line(
        "target-line",
        xs,
        scale,
        panel.targets,
        years,
        f'stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 4"',
    )
    out += _markers("target-point", xs, scale, panel.targets, "diamond", TARGET_COLOUR)
    out += _line(
        "outcome-line",
        xs,
        scale,
        panel.values,
        years,
        f'stroke="{OUTCOME_COLOUR}" stroke-width="2.5"',
    )
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
    """An inline SVG of a strategic goal's indicators, one panel each, with its title and
    description; the table of its data is `chart_table`."""
    height = max(len(panels), 1) * PANEL_HEIGHT + 28
    cid = escape(chart_id)
    out = [
        f'<svg class="goal-chart" id="{cid}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, sans-serif">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(describe(title, panels))}</desc>',
    ]
    for n, panel in enumerate(panels):
        out += _panel(panel, n * PANEL_HEIGHT)
    out += _legend(height - 20, any(p.comparisons for p in panels))
    out.append("</svg>")
    return Markup("\n".join(out))


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
    x = float(LEFT)
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
