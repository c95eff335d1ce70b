"""`python -m bench --quick` end to end on one cheap module: it measures on its own durable
PostgreSQL and broker, prints ONE table and writes latest.md and latest.json of that shape.

No timing is asserted (speed belongs in the figures, not in a test): only that the figures are
there, are numbers, and carry their targets, the machine and the commit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.table import HEADERS, SCHEMA, Figure, at_most, record

REPO = Path(__file__).resolve().parents[2]


def test_a_quick_run_writes_the_table_as_markdown_and_json(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--modules",
            "foundation",
            "--results",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "QUICK run (small sizes: smoke, not evidence)" in done.stdout

    data = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert data["schema"] == SCHEMA and data["quick"] is True
    assert data["machine"]["cores"] >= 1 and data["machine"]["memory_gb"] > 0
    assert len(data["machine"]["load_average"]) == 3
    assert len(data["commit"]["head"]) == 40 and isinstance(data["commit"]["dirty"], bool)
    assert data["sizes"].startswith("foundation --single 200")
    assert [m["name"] for m in data["modules"]] == ["foundation"]
    assert data["modules"][0]["error"] is None
    figures = {f["name"]: f for f in data["figures"]}
    assert {f["module"] for f in figures.values()} == {"foundation"}
    single = figures["single-event append through the store, 200 commits"]
    assert single["value"] > 0 and single["unit"] == "events/s"
    assert single["compared_with"].startswith("raw INSERT+COMMIT")
    assert single["ratio"] > 0 and single["target"] == "ratio ≥ 0.70"
    assert single["met"] is (single["ratio"] >= 0.7)
    relay = next(f for name, f in figures.items() if name.startswith("relay to the broker"))
    assert relay["value"] > 0 and relay["target_spec"] == {
        "op": ">=",
        "bound": 20000,
        "of": "value",
    }
    assert any(name.startswith("consumer apply") for name in figures)

    md = (tmp_path / "latest.md").read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert rows[0] == "| " + " | ".join(HEADERS) + " |"
    assert len(rows) == 2 + len(data["figures"])
    assert data["commit"]["head"][:12] in md
    # the same table went to the terminal
    assert "single-event append through the store, 200 commits" in done.stdout


def test_a_failing_module_is_an_error_row_the_others_are_kept_and_the_exit_is_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import __main__ as runner

    def broken(argv: list[str] | None) -> None:
        record(Figure("measured before it broke", 3.0, "ms", target=at_most(5)))
        raise RuntimeError("the broker went away")

    def fine(argv: list[str] | None) -> None:
        record(Figure(f"fine with {argv}", 42.0, "events/s"))

    for name, function in (("broken", broken), ("fine", fine)):
        monkeypatch.setitem(runner.BENCHMARKS, name, function)
        monkeypatch.setitem(runner.SIZES, name, (["--full"], ["--small"]))
    code = runner.main(["--modules", "broken,fine", "--results", str(tmp_path)])

    assert code == 1
    data = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert [(m["name"], m["error"]) for m in data["modules"]] == [
        ("broken", "RuntimeError: the broker went away"),
        ("fine", None),
    ]
    rows = [(f["module"], f["name"], f["error"], f["met"]) for f in data["figures"]]
    assert rows == [
        ("broken", "measured before it broke", None, True),
        ("broken", "module failed", "RuntimeError: the broker went away", None),
        ("fine", "fine with ['--full']", None, None),
    ]
    assert "FAILED modules: broken" in (tmp_path / "latest.md").read_text(encoding="utf-8")
