"""Findings of a hostile user's attack on the annual wheel's and the Kolada import's routes
(issue 10), each a test that failed before its fix, on the real PostgreSQL and local servers:
another spelling of a job's UUID, look-alike dates, hostile Kolada files and answers."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.reports import kolada_jobs
from services.reports.app import create_app
from services.reports.kolada import (
    KoladaClient,
    KoladaFile,
    KoladaFormatError,
    KoladaRequestError,
    KoladaValue,
)
from services.reports.kolada_import import import_kolada
from shared import values
from shared.runtime import Runtime
from tests.integration.test_calendar_http import COUNCIL_EDITOR, DEADLINES, KF
from tests.integration.test_kolada_cli import cli
from tests.integration.test_kolada_http import events
from tests.integration.test_kolada_import import ELIGIBLE, of, value
from tests.support import ADMIN, READER, SignedClient, connect, feed_seeded_goals, wait_for

IMPORTS = "/api/v1/imports/kolada"


def jobs(runtime: Runtime) -> int:
    with connect(runtime) as conn:
        row = conn.execute("SELECT count(*) FROM kolada_jobs").fetchone()
    assert row is not None
    return int(row[0])


def test_a_job_id_in_another_spelling_of_a_uuid_is_a_404_never_a_500(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    admin = SignedClient(create_app(reports.config, reports), ADMIN)
    zero = "00000000-0000-0000-0000-000000000000"
    for spelling in (f"urn:uuid:{zero}", f"{{{zero}}}", zero.replace("-", ""), zero.upper()[:-1]):
        answer = admin.get(f"{IMPORTS}/{spelling}")
        assert answer.status_code == 404, (spelling, answer.get_json())
        assert answer.content_type == "application/problem+json"


def test_a_from_date_in_a_look_alike_form_is_refused_and_starts_no_job(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    admin = SignedClient(create_app(reports.config, reports), ADMIN)
    before = events(reports)
    # marshmallow's Date reads these as 2024-01-01 (date.fromisoformat's other ISO forms)
    for text in ("20240101", "2024-W01-1", "2024-001", "2024-01-01T00:00", "٢٠٢٤-01-01"):
        answer = admin.post(IMPORTS, {"years": [2024], "from_date": text})
        assert answer.status_code == 422, (text, answer.get_json())
        assert "from_date" in answer.get_json()["errors"], (text, answer.get_json())
    assert jobs(reports) == 0 and events(reports) == before


def test_a_second_import_while_one_runs_is_a_409_naming_it_until_the_first_is_stale(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    admin = SignedClient(create_app(reports.config, reports), ADMIN)
    running = kolada_jobs.create_job(reports, "key:other-admin", [2024], None)
    with connect(reports) as conn:
        conn.execute("UPDATE kolada_jobs SET state = 'running' WHERE id = %s", [running])
    # each job has its own throttle: two at once would ask Kolada twice as often
    again = admin.post(IMPORTS, {"years": [2024]})
    assert again.status_code == 409, again.get_json()
    problem = again.get_json()
    assert problem["job"] == f"{IMPORTS}/{running}" and running in problem["detail"]
    assert jobs(reports) == 1
    # a job whose process stopped stays "running": once it has not moved for long, it is
    # no longer in the way (the import is resumable, the new job finishes the work)
    with connect(reports) as conn:
        conn.execute(
            "UPDATE kolada_jobs SET updated_at = now() - interval '1 hour' WHERE id = %s",
            [running],
        )
    assert admin.post(IMPORTS, {"years": [2024]}).status_code == 202
    assert jobs(reports) == 2


def test_a_job_whose_process_stopped_shows_as_failed_not_running_forever(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    admin = SignedClient(create_app(reports.config, reports), ADMIN)
    stopped = kolada_jobs.create_job(reports, "key:admin", [2024], None)
    with connect(reports) as conn:
        conn.execute(
            "UPDATE kolada_jobs SET state = 'running', updated_at = now() - interval '1 hour' "
            "WHERE id = %s",
            [stopped],
        )
    job = admin.get(f"{IMPORTS}/{stopped}").get_json()
    assert job["state"] == "failed" and "start the import again" in job["error"], job


def test_a_running_job_shows_a_sign_of_life_while_its_source_is_slow(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    job_id = kolada_jobs.create_job(reports, "key:admin", [2024], None)

    def age(interval: str) -> None:
        with connect(reports) as conn:
            conn.execute(f"UPDATE kolada_jobs SET updated_at = now() - interval '{interval}'")

    def updated() -> Any:
        with connect(reports) as conn:
            row = conn.execute("SELECT updated_at > now() - interval '1 minute' FROM kolada_jobs")
            return (row.fetchone() or (False,))[0]

    class Slow:  # a source that answers only once the job has shown a sign of life
        def data(self, *args: Any, **kwargs: Any) -> Iterator[KoladaValue]:
            age("1 hour")  # as if Kolada had kept it waiting that long
            wait_for(updated, 30.0, "the job's heartbeat")
            return iter(())

        def close(self) -> None:
            pass

    done = kolada_jobs.run_job(reports, job_id, Slow(), years=[2024], heartbeat_every=0.05)
    assert done.fetched == 0


# -- a hostile Kolada ------------------------------------------------------------------------


class HostileKolada:
    """A local server answering every GET with `body` (or `body(path and query)`) in
    `chunk`-byte pieces, `pause` seconds apart, then `forever` repeated without end (no
    Content-Length): a slow or endless answer. `raw`: no status line or headers of its own,
    the body is the whole answer. It stops writing when the client hangs up or the test ends.
    `requests` lists the paths asked for."""

    def __init__(
        self,
        body: bytes | Callable[[str], bytes],
        *,
        forever: bytes = b"",
        chunk: int = 65536,
        pause: float = 0.0,
        raw: bool = False,
    ) -> None:
        self.body, self.forever, self.chunk, self.pause = body, forever, chunk, pause
        self.raw = raw
        self.stopped = threading.Event()
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                if not owner.raw:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Connection", "close")
                    self.end_headers()
                with contextlib.suppress(OSError):  # the client hung up, as it should
                    owner.write(self.wfile, self.path)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def write(self, out: Any, path: str) -> None:
        body = self.body if isinstance(self.body, bytes) else self.body(path)
        pieces = [body[i : i + self.chunk] for i in range(0, len(body), self.chunk)]
        for piece in pieces:
            self._send(out, piece)
        while self.forever and not self.stopped.is_set():
            self._send(out, self.forever)

    def _send(self, out: Any, piece: bytes) -> None:
        out.write(piece)
        out.flush()
        if self.pause:
            self.stopped.wait(self.pause)

    def __enter__(self) -> HostileKolada:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


def fetch(server: HostileKolada, **options: Any) -> list[KoladaValue]:
    with KoladaClient(server.base_url, requests_per_second=0, max_retries=0, **options) as c:
        return list(c.data(["N15419"], ["1471"], [2024]))


def test_a_deeply_nested_answer_or_file_is_a_format_error_not_a_recursion_error(
    tmp_path: Path,
) -> None:
    deep = b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with HostileKolada(deep) as server, pytest.raises(KoladaFormatError, match="not JSON"):
        fetch(server)
    saved = tmp_path / "deep.json"
    saved.write_bytes(deep)
    with pytest.raises(KoladaFormatError, match="not JSON"):
        list(KoladaFile(saved).data(["N15419"], ["1471"], [2024]))


def test_an_answer_that_trickles_without_end_fails_the_request_instead_of_hanging() -> None:
    # a byte of whitespace (valid JSON padding) every 20 ms: no read ever times out
    with (
        HostileKolada(b'{"values": []', forever=b" ", chunk=1, pause=0.02) as server,
        pytest.raises(KoladaRequestError, match="seconds"),
    ):
        fetch(server, max_answer_seconds=0.5)


def test_headers_that_trickle_without_end_fail_the_request_instead_of_hanging() -> None:
    # a byte of a header every 20 ms: no read waits long enough to time out, and the headers
    # never end (h11 stops only at its header size limit, an hour or so away at this pace)
    with (
        HostileKolada(
            b"HTTP/1.1 200 OK\r\nX-Pad: ", forever=b"a", chunk=1, pause=0.02, raw=True
        ) as server,
        pytest.raises(KoladaRequestError, match="seconds"),
    ):
        fetch(server, max_answer_seconds=0.5)


def test_an_endless_answer_fails_the_request_before_it_fills_the_memory() -> None:
    with (
        HostileKolada(b'{"values": [', forever=b" " * 65536) as server,
        pytest.raises(KoladaFormatError, match="bytes"),
    ):
        fetch(server, max_answer_bytes=1_000_000)


def test_pages_that_only_repeat_themselves_under_new_urls_are_a_loop_not_endless_paging() -> None:
    rows = [of("1471", 2024, value("T", 85.0)) | {"kpi": "N15419"}]

    def page(path: str) -> bytes:  # the same rows, and always a "next" page
        number = int(path.rsplit("page=", 1)[1].split("&")[0]) if "page=" in path else 1
        return json.dumps({"values": rows, "next_url": f"/v3/data?page={number + 1}"}).encode()

    with HostileKolada(page) as server, pytest.raises(KoladaFormatError, match="loop"):
        fetch(server)
    assert len(server.requests) == 2, server.requests


def test_pages_without_end_of_new_rows_stop_once_there_are_more_rows_than_were_asked_for() -> None:
    def page(path: str) -> bytes:  # a new value on each page, and always a "next" page
        number = int(path.rsplit("page=", 1)[1].split("&")[0]) if "page=" in path else 1
        rows = [of("1471", 2024, value("T", float(number))) | {"kpi": "N15419"}]
        return json.dumps({"values": rows, "next_url": f"/v3/data?page={number + 1}"}).encode()

    # one KPI, one municipality, one year: Kolada has one row for it, never a second page
    with HostileKolada(page) as server, pytest.raises(KoladaFormatError, match="more rows"):
        fetch(server)
    assert len(server.requests) == 2, server.requests


def test_the_mean_of_huge_comparison_values_is_a_number_not_infinity_in_the_json(
    goals: Runtime, reports: Runtime, tmp_path: Path
) -> None:
    feed_seeded_goals(goals, reports)
    biggest = sys.float_info.max
    saved = tmp_path / "huge.json"
    saved.write_text(
        json.dumps([of("1494", 2024, value("T", biggest)), of("1495", 2024, value("T", biggest))])
    )
    done = import_kolada(reports, KoladaFile(saved), years=[2024], comparisons=["1494", "1495"])
    assert done.comparisons.new == 2, done.summary()
    reader = SignedClient(create_app(reports.config, reports), READER)
    answer = reader.get(f"/api/v1/indicators/{ELIGIBLE}/comparisons?year=2024")
    assert answer.status_code == 200
    body = json.loads(answer.get_data(as_text=True), parse_constant=refuse_constant)
    assert body["years"][0]["mean"] == pytest.approx(biggest)


def refuse_constant(name: str) -> float:
    raise AssertionError(f"{name} is not JSON")


def test_the_cli_refuses_look_alike_years_and_dates_and_records_no_job(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    # int() reads full-width digits, "2_024" and " 2024\n" as 2024; date.fromisoformat "20240101"
    for flag, text in [
        ("--years", "\uff12\uff10\uff12\uff14"),
        ("--years", "2_024"),
        ("--years", " 2024\n"),
        ("--from-date", "20240101"),
        ("--from-date", "2024-W01-1"),
    ]:
        refused = cli(reports, flag, text)
        assert refused.returncode == 2, (text, refused.stdout, refused.stderr)
        assert flag in refused.stderr, (text, refused.stderr)
    assert jobs(reports) == 0


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read_whole(
    tmp_path: Path,
) -> None:
    saved = tmp_path / "huge.json"
    saved.write_bytes(b'{"values": [' + b" " * 5000 + b"]}")
    with pytest.raises(KoladaFormatError, match="larger than 4000 bytes"):
        list(KoladaFile(saved, max_bytes=4000).data(["N15419"], ["1471"], [2024]))
    assert list(KoladaFile(saved, max_bytes=6000).data(["N15419"], ["1471"], [2024])) == []


# -- the annual wheel ------------------------------------------------------------------------


def test_a_decision_date_in_a_look_alike_form_is_refused_and_decides_nothing(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    council = SignedClient(create_app(reports.config, reports), COUNCIL_EDITOR)
    today = values.today()
    # marshmallow's Date reads each of these as a day (date.fromisoformat's other ISO forms)
    look_alikes = [
        today.strftime("%Y%m%d"),
        "{}-W{:02d}-{}".format(*today.isocalendar()),
        f"{today.year}-{today.timetuple().tm_yday:03d}",
    ]
    before = events(reports)
    body = {"kind": "results_due", "year": 2025, "date": "2026-01-31", "minute_ref": "KF §1"}
    for text in look_alikes:
        answer = council.post(DEADLINES, {**body, "decided_by": KF, "decided_on": text})
        assert answer.status_code == 422, (text, answer.get_json())
        assert "decided_on" in answer.get_json()["errors"], (text, answer.get_json())
    assert events(reports) == before
    made = council.post(DEADLINES, {**body, "decided_by": KF, "decided_on": today.isoformat()})
    assert made.status_code == 201, made.get_json()
    for text in look_alikes:
        moved = council.post(
            f"{DEADLINES}/{made.get_json()['id']}/change",
            {"date": "2026-02-02", "reason": "Helg", "decided_by": KF, "decided_on": text},
        )
        assert moved.status_code == 422, (text, moved.get_json())
        assert "decided_on" in moved.get_json()["errors"], (text, moved.get_json())
    assert events(reports) == before + 1


def test_the_cli_refuses_to_start_while_an_import_runs(goals: Runtime, reports: Runtime) -> None:
    feed_seeded_goals(goals, reports)
    running = kolada_jobs.create_job(reports, "key:admin", [2024], None)
    refused = cli(reports, "--years", "2024")
    assert refused.returncode == 1 and running in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and jobs(reports) == 1


def test_rows_of_a_year_kpi_or_municipality_not_asked_for_are_refused_and_record_nothing(
    goals: Runtime, reports: Runtime
) -> None:
    feed_seeded_goals(goals, reports)
    asked = of("1471", 2024, value("T", 85.0)) | {"kpi": "N15419"}
    for stray in (
        asked | {"period": 2019},  # a year the job does not cover
        asked | {"kpi": "N00001"},
        asked | {"municipality": "0180"},
    ):
        page = json.dumps({"values": [stray], "next_url": None}).encode()
        with HostileKolada(page) as server, pytest.raises(KoladaFormatError, match="not asked"):
            fetch(server)
    before = events(reports)
    stray_year = json.dumps({"values": [asked | {"period": 2019}]}).encode()
    with (
        HostileKolada(stray_year) as server,
        KoladaClient(server.base_url, requests_per_second=0, max_retries=0) as client,
        pytest.raises(KoladaFormatError),
    ):
        import_kolada(reports, client, years=[2024])
    assert events(reports) == before
