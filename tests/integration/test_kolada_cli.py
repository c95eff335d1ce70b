"""`python -m services.reports import-kolada` as a process, on the real PostgreSQL: from the local
fixture server (paging, a 429, a null, a string period, a deleted row) and from a saved file,
with its progress bar on stderr, its summary, its recorded job and its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from services.reports.domain import comparison
from shared.runtime import Runtime
from tests.integration.test_kolada_import import all_counts as counts
from tests.integration.test_kolada_import import comparison_rows, expected, of, value
from tests.kolada_server import KoladaFixtureServer
from tests.support import REPO, connect, feed_seeded_goals


def cli(
    runtime: Runtime, *args: str, base_url: str = "http://127.0.0.1:9"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": runtime.config.database_url,
        "KOLADA_BASE_URL": base_url,
        "KOLADA_REQUESTS_PER_SECOND": "0",
        "STYRKORT_ADMIN": "Driftansvarig Anna",
    }
    env.pop("KOLADA_COMPARISONS", None)
    env.pop("KOLADA_MUNICIPALITY", None)
    done = subprocess.run(
        [sys.executable, "-m", "services.reports", "import-kolada", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )
    # bytes, decoded here: text mode would turn the bar's carriage returns into new lines
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def test_the_cli_imports_from_the_api_with_a_progress_bar_and_records_its_job(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    with KoladaFixtureServer(comparison_rows(), page_size=2, rate_limit_at=(2,)) as server:
        done = cli(reports, "--years", "2023", "2024", base_url=server.base_url)
        assert done.returncode == 0, done.stderr
        assert [r.status for r in server.data_requests()] == [200, 429, 200, 200, 200]
    assert "\r" in done.stderr and "Kolada: [" in done.stderr, done.stderr
    assert "Källa: Kolada" in done.stdout and "new 1," in done.stdout, done.stdout
    assert counts(reports) == expected(ResultRecorded=1, ComparisonValueRecorded=4)
    with connect(reports) as conn:
        job = conn.execute(
            "SELECT state, requested_by, years, counts->>'new' FROM kolada_jobs"
        ).fetchone()
    assert job == ("done", "Driftansvarig Anna", [2023, 2024], "5")


def test_the_cli_imports_a_file_and_a_revised_file_gives_one_correction(
    goals: Runtime, reports: Runtime, tmp_path: Path
) -> None:
    feed_seeded_goals(goals, reports)
    saved = tmp_path / "kolada.json"
    saved.write_text(json.dumps({"values": comparison_rows()}), encoding="utf-8")
    first = cli(reports, "--file", str(saved), "--years", "2023", "2024")
    assert first.returncode == 0, first.stderr
    assert counts(reports) == expected(ResultRecorded=1, ComparisonValueRecorded=4)
    revised = comparison_rows()
    revised[6] = of("1495", "2023", value("T", 79.4))
    saved.write_text(json.dumps({"values": revised}), encoding="utf-8")
    second = cli(reports, "--file", str(saved), "--years", "2023", "2024")
    assert second.returncode == 0, second.stderr
    assert counts(reports) == expected(
        ResultRecorded=1, ComparisonValueRecorded=4, ComparisonValueCorrected=1
    )
    with connect(reports) as conn:
        (corrected,) = conn.execute(
            "SELECT stream_id FROM events WHERE event_type = 'ComparisonValueCorrected.v1'"
        ).fetchone() or (None,)
    assert corrected == comparison.comparison_id_for("N15419", "1495", 2023)


def test_the_cli_fails_clearly(goals: Runtime, reports: Runtime, tmp_path: Path) -> None:
    feed_seeded_goals(goals, reports)
    missing = cli(reports, "--file", str(tmp_path / "missing.json"), "--years", "2024")
    assert missing.returncode == 1 and "run it again" in missing.stderr, missing.stderr
    with connect(reports) as conn:
        row = conn.execute("SELECT state, error FROM kolada_jobs").fetchone()
    assert row is not None and row[0] == "failed" and "missing.json" in row[1]
    bad = cli(reports, "--years", "1800")
    assert bad.returncode == 2 and "--years" in bad.stderr, bad.stderr
    worse = cli(reports, "--municipality", "Götene")
    assert worse.returncode == 2 and "--municipality" in worse.stderr, worse.stderr
    assert counts(reports) == expected()
