"""The annual report's SVG charts (shared/charts.py), without I/O: the target line is
there and dashed, scales hold every value (one point, equal values, all missing, negative),
a missing year breaks the line, comparisons draw only when given, and the chart carries a
title, a description and its data as a table."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from shared import charts
from shared.charts import Panel

YEARS = [2023, 2024, 2025, 2026]


def panel(values: dict[int, float | None], targets: dict[int, float | None], **kw: object) -> Panel:
    return Panel("ind-1", "Behöriga elever", "%", YEARS, values, targets, **kw)  # type: ignore[arg-type]


def parse(svg: str) -> ET.Element:
    """The chart as XML (inline SVG in HTML needs no namespace; XML does)."""
    return ET.fromstring(str(svg).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def points(svg: str, cls: str) -> list[list[tuple[float, float]]]:
    found = []
    for match in re.finditer(rf'<polyline class="{cls}" points="([^"]+)"', svg):
        found.append([tuple(map(float, p.split(","))) for p in match.group(1).split()])
    return found  # type: ignore[return-value]


def inside(y: float, top: float = 0, bottom: float = charts.PANEL_HEIGHT) -> bool:
    return top <= y <= bottom


def test_the_target_is_a_dashed_line_beside_the_outcome_with_title_and_description() -> None:
    svg = charts.goal_chart(
        "chart-g1", "Trygg kommun", [panel({2024: 85.0, 2025: 89.0}, {2024: 86.0, 2025: 88.0})]
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-g1-title chart-g1-desc"
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.find("s:title", ns).text == "Trygg kommun"  # type: ignore[union-attr]
    desc = root.find("s:desc", ns).text  # type: ignore[union-attr]
    assert "Behöriga elever 2025: 89 %, målvärde 88" in desc  # type: ignore[operator]
    [target] = points(svg, "target-line")
    assert 'class="target-line"' in svg and 'stroke-dasharray="6 4"' in svg
    [outcome] = points(svg, "outcome-line")
    assert len(target) == len(outcome) == 2
    # the higher value is drawn higher up (smaller y); every point inside its panel
    assert outcome[1][1] < outcome[0][1]
    assert all(inside(y) for _, y in target + outcome)
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in svg


def test_one_point_and_equal_values_get_a_span_around_them() -> None:
    low, high, step = charts.value_range([42.0])
    assert low < 42.0 < high and step > 0
    low, high, _ = charts.value_range([0.0, 0.0])
    assert low < 0.0 < high
    svg = charts.goal_chart("c", "Ett värde", [panel({2025: 42.0}, {})])
    [outcome] = points(svg, "outcome-line")
    assert len(outcome) == 2, "a lone point shows as a short line, and a marker"
    assert svg.count('class="outcome-point"') == 1 and svg.count("a3.5,3.5") == 2, "one circle"
    assert "target-line" not in svg


def test_no_values_at_all_give_a_sane_axis_and_say_so() -> None:
    assert charts.value_range([]) == (0.0, 1.0, 0.25)
    svg = charts.goal_chart("c", "Tomt", [panel({y: None for y in YEARS}, {})])
    assert "Inga värden registrerade" in svg
    assert "outcome-line" not in svg and "nan" not in svg.lower()
    assert "Behöriga elever: inga värden." in svg


def test_negative_values_stay_below_zero_with_a_zero_line() -> None:
    low, high, step = charts.value_range([-12.5, 3.0])
    assert low <= -12.5 and high >= 3.0
    assert low % step == pytest.approx(0) or (-low) % step == pytest.approx(0)
    svg = charts.goal_chart("c", "Resultat", [panel({2024: -12.5, 2025: 3.0}, {2025: 0.0})])
    assert 'class="zero"' in svg
    [outcome] = points(svg, "outcome-line")
    assert all(inside(y) for _, y in outcome)
    assert ">\u221210</text>" in svg, "ticks below zero, with a minus sign"


def test_a_missing_year_breaks_the_line_instead_of_bridging_it() -> None:
    svg = charts.goal_chart(
        "c", "Lucka", [panel({2023: 10.0, 2024: 11.0, 2025: None, 2026: 13.0}, {})]
    )
    runs = points(svg, "outcome-line")
    assert [len(r) for r in runs] == [2, 2], "2023-2024, then 2026 alone (a short tick)"


def test_comparisons_draw_their_lines_and_mean_only_when_given() -> None:
    plain = charts.goal_chart("c", "Utan", [panel({2025: 50.0}, {2025: 55.0})])
    assert "comparison" not in plain and "Jämförelsekommun" not in plain
    compared = {
        2024: {
            "comparisons": [{"code": "1471", "name": "Götene", "value": 48.0}],
            "mean": 47.0,
            "source": "Kolada",
        },
        2025: {
            "comparisons": [{"code": "1471", "name": "Götene", "value": 120.0}],
            "mean": None,
            "source": "Kolada",
        },
    }
    svg = charts.goal_chart(
        "c", "Med", [panel({2024: 49.0, 2025: 50.0}, {2025: 55.0}, comparisons=compared)]
    )
    assert 'class="comparison"' in svg and 'class="comparison-mean"' in svg
    assert "Medelvärde, jämförelsekommuner" in svg
    [line] = points(svg, "comparison")
    assert all(inside(y) for _, y in line), "the scale holds the comparisons' values too"
    rows = charts.chart_table([panel({2024: 49.0}, {}, comparisons=compared)])
    assert [(r["year"], r["mean"], r["comparison_source"]) for r in rows][:2] == [
        (2023, None, None),
        (2024, 47.0, "Kolada"),
    ]


def test_several_indicators_get_a_panel_each_and_text_is_escaped() -> None:
    panels = [
        Panel("a", "Andel <nöjda> & trygga", "%", YEARS, {2025: 80.0}, {2026: 90.0}),
        Panel("b", "Energi", "kWh/m²", YEARS, {2025: 150.0}, {2026: 140.0}),
    ]
    svg = charts.goal_chart("c", "Mål & mening", panels)
    parse(svg)  # well-formed: the names are escaped
    assert svg.count('<g class="panel"') == 2
    assert "Andel &lt;nöjda&gt; &amp; trygga" in svg and "Mål &amp; mening" in svg
    assert [r["indicator"] for r in charts.chart_table(panels)] == [
        "Andel <nöjda> & trygga"
    ] * 4 + ["Energi"] * 4


def test_numbers_are_written_the_swedish_way() -> None:
    assert charts.number(1234567.5) == "1\u00a0234\u00a0567,5"
    assert charts.number(88.0) == "88"
    assert charts.number(0.25) == "0,25"
    assert charts.number(None) == "\u2013"
    assert charts.number(-12.5) == "\u221212,5"
    assert [charts.nice_step(s, 4) for s in (1.0, 7.0, 95.0)] == [0.25, 2.0, 25.0]
    assert [charts.nice_step(s, 3) for s in (1.0, 7.0, 95.0)] == [0.5, 2.5, 50.0]


def test_many_indicators_are_split_into_images_that_fit_a_page() -> None:
    panels = [Panel(f"i{n}", f"Indikator {n}", "%", YEARS, {2025: 50.0 + n}, {}) for n in range(23)]
    html = str(charts.goal_chart("chart-g", "Stort mål", panels))
    ids = re.findall(r'<svg class="goal-chart" id="([^"]+)"', html)
    assert ids == ["chart-g", "chart-g-2", "chart-g-3"]
    assert '<title id="chart-g-3-title">Stort mål (del 3 av 3)</title>' in html
    assert html.count('<g class="panel"') == 23
    # two columns: years under each panel with none below it in its image (they share them):
    # the last row of 10 and 10, and of the last 3 the lone third and the second above nothing
    assert html.count('<g class="years"') == 2 + 2 + 2
    heights = [int(h) for h in re.findall(r'<svg [^>]*height="(\d+)"', html)]
    assert max(heights) * 25.4 / 96 < 250, "an image is shorter than an A4 page's text (mm)"
    years, rows = charts.chart_matrix(panels[:2])
    assert years == YEARS and [r["indicator"] for r in rows] == ["Indikator 0", "Indikator 1"]
    assert [c["value"] for c in rows[1]["cells"]] == [None, None, 51.0, None]


def test_long_titles_take_two_lines_and_no_more() -> None:
    assert charts.title_lines("Kort namn (%)") == ["Kort namn (%)"]
    long = "Elever i åk 9 som är behöriga till ett yrkesprogram, hemkommun, andel (%)"
    first, second = charts.title_lines(long)
    assert long.startswith(first) and len(first) <= charts.TITLE_CHARACTERS
    assert second == long[len(first) :].strip()
    very = "ord " * 40
    assert charts.title_lines(very)[1].endswith("\u2026")
    assert all(len(line) <= charts.TITLE_CHARACTERS for line in charts.title_lines(very))
