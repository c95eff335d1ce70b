"""The benchmark table (bench/table.py): targets judged, rows rendered, the JSON's shape.

Pure logic: the run is made up here, nothing is measured or written.
"""

from __future__ import annotations

import json
import math

import pytest

from bench import table
from bench.table import Figure, at_least, at_most


def made_up_run(*, quick: bool = False, load: float = 0.1) -> table.Run:
    run = table.Run(
        quick=quick,
        started="2026-11-25T01:00:00+00:00",
        machine={
            "cores": 2,
            "memory_gb": 7.8,
            "cpu": "Test CPU",
            "load_average": [load, 0.2, 0.3],
            "python": "3.11.2",
            "system": "Linux 6.1",
        },
        commit={"head": "0123456789abcdef" * 2 + "01234567", "dirty": True, "subject": "s"},
        sizes="foundation --events 5000",
        seconds=90.0,
    )
    appends = [
        Figure(
            "single-event append, 200 commits",
            979.4,
            "events/s",
            "raw INSERT+COMMIT 1,360/s",
            0.72,
            at_least(0.7, "ratio"),
            module="foundation",
        ),
        Figure(
            "relay | 5,200 events",
            14_012.0,
            "events/s",
            target=at_least(20_000),
            module="foundation",
        ),
        Figure("consumer apply", float("nan"), "events/s", module="foundation"),
    ]
    run.modules.append(table.ModuleRun("foundation", 12.3, appends))
    run.modules.append(table.ModuleRun("web", 4.0, [], error="RuntimeError: boom"))
    return run


@pytest.mark.parametrize(
    ("target", "value", "ratio", "met"),
    [
        (at_least(20_000), 20_000.0, None, True),
        (at_least(20_000), 19_999.0, None, False),
        (at_most(200), 150.0, None, True),
        (at_most(200), 201.0, None, False),
        (at_least(0.5, "ratio"), 10.0, 0.49, False),
        (at_least(0.5, "ratio"), 1.0, 0.5, True),
        (at_least(0.5, "ratio"), 1.0, None, None),
        (at_most(200), math.nan, None, None),
    ],
)
def test_a_target_is_judged_on_the_value_or_the_ratio(
    target: table.Target, value: float, ratio: float | None, met: bool | None
) -> None:
    assert Figure("x", value, "ms", ratio=ratio, target=target).met is met


def test_a_failed_module_is_an_error_row_and_judges_nothing() -> None:
    run = made_up_run()
    assert run.failed == ["web"]
    error = run.rows[-1]
    assert (error.module, error.error, error.met) == ("web", "RuntimeError: boom", None)
    assert table.verdict(error) == "ERROR"


def test_the_terminal_table_has_one_aligned_row_per_figure() -> None:
    text = table.terminal(made_up_run())
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("module"))
    rows = lines[lines.index(header) + 2 :]
    assert len(rows) == 4
    assert "979" in rows[0] and "0.72" in rows[0] and "ratio ≥ 0.70" in rows[0]
    assert rows[0].rstrip().endswith("met")
    assert rows[1].rstrip().endswith("NOT met") and "≥ 20,000 events/s" in rows[1]
    assert "—" in rows[2]  # NaN is shown as no value, not as "nan"
    assert "ERROR" in rows[3] and "boom" in rows[3]
    # the value column is right-aligned: every row's value ends in the same column
    value_end = header.index("value") + len("value")
    assert rows[0][:value_end].endswith("979") and rows[1][:value_end].endswith("14,012")
    assert "Full run" in text and "2 cores, 7.8 GB, Test CPU" in text
    assert "0123456789ab (dirty)" in text and "FAILED modules: web" in text


def test_the_header_says_a_quick_run_is_smoke_and_a_busy_machine_is_shared() -> None:
    quiet = table.terminal(made_up_run())
    busy = made_up_run(quick=True, load=3.5)
    busy.load_end = [2.75, 2.0, 1.0]
    busy_quick = table.terminal(busy)
    assert "at the end, the run's own work included: 2.75" in busy_quick
    assert table.as_json(busy)["load_average_end"] == [2.75, 2.0, 1.0]
    assert "QUICK" not in quiet and "shared with other work" not in quiet
    assert "QUICK run (small sizes: smoke, not evidence)" in busy_quick
    assert "sizes: foundation --events 5000" in busy_quick
    assert "shared with other work" in busy_quick
    given = made_up_run()
    given.custom = True
    assert table.terminal(given).startswith("Run with the sizes given on the command line")
    assert table.as_json(given)["custom_sizes"] is True


def test_markdown_is_one_table_with_pipes_escaped() -> None:
    md = table.markdown(made_up_run())
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert rows[0] == "| " + " | ".join(table.HEADERS) + " |"
    assert len(rows) == 2 + 4
    columns = {row.replace("\\|", "").count("|") for row in rows}
    assert columns == {len(table.HEADERS) + 1}  # "relay | 5,200" did not add a column
    assert "relay \\| 5,200 events" in md


def test_the_json_has_every_figure_with_its_target_and_verdict() -> None:
    data = json.loads(json.dumps(table.as_json(made_up_run()), allow_nan=False))
    assert data["schema"] == table.SCHEMA
    assert data["quick"] is False
    assert data["machine"]["cores"] == 2 and data["commit"]["dirty"] is True
    assert [m["name"] for m in data["modules"]] == ["foundation", "web"]
    assert data["modules"][1]["error"] == "RuntimeError: boom"
    first, relay, consumer, error = data["figures"]
    assert first["value"] == 979.4 and first["ratio"] == 0.72 and first["met"] is True
    assert first["target"] == "ratio ≥ 0.70"
    assert first["target_spec"] == {"op": ">=", "bound": 0.7, "of": "ratio"}
    assert relay["met"] is False and relay["module"] == "foundation"
    assert consumer["value"] is None and consumer["target"] is None  # NaN is not JSON
    assert error["error"] == "RuntimeError: boom" and error["value"] is None


def test_collecting_keeps_what_a_failing_module_recorded() -> None:
    with pytest.raises(RuntimeError), table.collecting("plans") as figures:
        table.record(Figure("p50", 14.0, "ms"))
        raise RuntimeError("after one figure")
    assert [(f.module, f.name) for f in figures] == [("plans", "p50")]
    with table.collecting("again") as later:
        pass
    assert later == []  # nothing left over from the failed block


@pytest.mark.parametrize(
    ("value", "shown"),
    [(14_012.4, "14,012"), (12.34, "12.3"), (0.724, "0.72"), (200.0, "200"), (math.inf, "∞")],
)
def test_numbers_are_shown_as_people_read_them(value: float, shown: str) -> None:
    assert table.number(value) == shown
