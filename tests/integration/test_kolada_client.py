"""The Kolada client against a local fixture server (tests/kolada_server.py) and files: paging
by next_url, 429 with Retry-After, 5xx retries, the throttle, 25-id chunks, from_date, a foreign
next_url refused, file input. Nothing reaches the internet; waits are recorded by an injected
sleep (and a fake clock), never measured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.reports.kolada import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    KoladaClient,
    KoladaFile,
    KoladaFormatError,
    KoladaRequestError,
    KoladaResult,
    KoladaUnsafeURL,
    KoladaValue,
    fold,
    open_source,
)
from tests.kolada_server import DEFAULT_ROWS, KoladaFixtureServer

KPIS = ["N15428", "U00400"]
MUNICIPALITIES = ["1471", "1402"]
YEARS = [2022, 2023, 2024]


class FakeTime:
    """A clock that only sleeping moves; each wait is noted on the server's timeline."""

    def __init__(self, server: KoladaFixtureServer | None = None) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.server = server

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        if self.server is not None:
            self.server.note("sleep", seconds)


@pytest.fixture
def server() -> Iterator[KoladaFixtureServer]:
    with KoladaFixtureServer() as s:
        yield s


def client_for(
    server: KoladaFixtureServer, time: FakeTime, rate: float = 0, **options: Any
) -> KoladaClient:
    return KoladaClient(
        server.base_url,
        requests_per_second=rate,
        sleep=time.sleep,
        clock=time.clock,
        **options,
    )


def test_every_page_is_read_by_next_url_whatever_count_says(server: KoladaFixtureServer) -> None:
    time = FakeTime(server)
    with client_for(server, time) as client:
        observations = list(client.data(KPIS, MUNICIPALITIES, YEARS))
    assert observations == [
        KoladaValue("N15428", "1471", 2024, "T", 76.4),
        KoladaValue("N15428", "1471", 2024, "K", 80.1),
        KoladaValue("N15428", "1471", 2024, "M", 72.9),
        KoladaValue("N15428", "1471", 2023, "T", 74.0),  # its period was "2023"
        KoladaValue("N15428", "1471", 2022, "T", None),  # null: no data
        KoladaValue("U00400", "1471", 2024, "T", None, deleted=True),
        KoladaValue("U00400", "1402", 2024, "T", 3.5),
    ]
    pages = [r for r in server.data_requests() if r.status == 200]
    assert [r.query["page"] for r in pages] == [["1"], ["2"], ["3"]]  # 5 rows, 2 a page
    assert fold(observations) == [
        KoladaResult("N15428", "1471", 2022, None, None, None),
        KoladaResult("N15428", "1471", 2023, 74.0, None, None),
        KoladaResult("N15428", "1471", 2024, 76.4, 80.1, 72.9),
        KoladaResult("U00400", "1402", 2024, 3.5, None, None),
        KoladaResult("U00400", "1471", 2024, None, None, None, withdrawn=True),
    ]


def test_a_429_is_waited_out_for_its_retry_after_then_asked_again(
    server: KoladaFixtureServer,
) -> None:
    server.retry_after = "3"
    time = FakeTime(server)
    with client_for(server, time) as client:
        assert len(list(client.data(KPIS, MUNICIPALITIES, YEARS))) == 7
    first, limited, again = server.timeline[0], server.timeline[1], server.timeline[3]
    assert [e[0] for e in server.timeline] == ["request", "request", "sleep", "request", "request"]
    assert (first[1], limited[1], again[1]) == (200, 429, 200)
    assert server.timeline[2] == ("sleep", 3.0)  # between the 429 and its retry, nothing else
    assert again[2] == limited[2]  # the same page asked again
    assert time.waits == [3.0]


def test_too_many_429s_or_too_long_a_retry_after_fail_clearly(
    server: KoladaFixtureServer,
) -> None:
    server.rate_limit_at = {1, 2, 3}
    time = FakeTime(server)
    with (
        client_for(server, time, max_retries=2) as client,
        pytest.raises(KoladaRequestError, match="429 Too Many Requests 3 times"),
    ):
        list(client.data(KPIS, MUNICIPALITIES, YEARS))
    assert len(server.requests) == 3

    server.rate_limit_at = {4}
    server.retry_after = "3600"
    with (
        client_for(server, time) as client,
        pytest.raises(KoladaRequestError, match="Retry-After 3600 s is more than"),
    ):
        list(client.data(KPIS, MUNICIPALITIES, YEARS))
    assert len(server.requests) == 4  # not asked again


def test_a_5xx_is_retried_with_backoff_and_then_fails_naming_the_status(
    server: KoladaFixtureServer,
) -> None:
    server.rate_limit_at = set()
    server.fail_at = {1, 2}
    time = FakeTime(server)
    with client_for(server, time, backoff=0.5) as client:
        assert len(list(client.data(KPIS, MUNICIPALITIES, YEARS))) == 7
    assert time.waits == [0.5, 1.0]
    assert [r.status for r in server.requests[:3]] == [503, 503, 200]

    server.fail_at = set(range(1, 100))
    with (
        client_for(server, time, max_retries=3) as client,
        pytest.raises(KoladaRequestError, match=r"503 Service Unavailable on all 4 attempts"),
    ):
        list(client.data(KPIS, MUNICIPALITIES, YEARS))


def test_a_4xx_fails_at_once(server: KoladaFixtureServer) -> None:
    server.rate_limit_at = set()
    with (
        KoladaClient(server.base_url + "/nowhere", requests_per_second=0) as client,
        pytest.raises(KoladaRequestError, match="404"),
    ):
        list(client.data(KPIS, MUNICIPALITIES, YEARS))
    assert len(server.requests) == 1


def test_the_throttle_spaces_requests_and_zero_turns_it_off(server: KoladaFixtureServer) -> None:
    server.rate_limit_at = set()
    time = FakeTime(server)
    with client_for(server, time, rate=5) as client:
        list(client.data(KPIS, MUNICIPALITIES, YEARS))
    assert len(server.requests) == 3
    assert time.waits == pytest.approx([0.2, 0.2])  # before the 2nd and the 3rd request
    assert [e[0] for e in server.timeline] == ["request", "sleep", "request", "sleep", "request"]

    off = FakeTime()
    with client_for(server, off, rate=0) as client:
        list(client.data(KPIS, MUNICIPALITIES, YEARS))
    assert off.waits == []


def test_ids_go_at_most_25_to_a_segment(server: KoladaFixtureServer) -> None:
    server.rate_limit_at = set()
    kpis = ["N15428"] + [f"N{i:05}" for i in range(1, 30)]  # 30
    municipalities = ["1471", *(f"{i:04}" for i in range(2000, 2051))]  # 52
    with client_for(server, FakeTime()) as client:
        observations = list(client.data(kpis, municipalities, YEARS))
    assert {o.kpi for o in observations} == {"N15428"}
    assert len(observations) == 5
    firsts = [r for r in server.data_requests() if r.query["page"] == ["1"]]
    assert len(firsts) == 2 * 3  # 30 KPIs in 2 chunks x 52 municipalities in 3
    assert all(r.status == 200 for r in server.requests)
    for r in firsts:
        assert all(len(ids) <= 25 for ids in r.segments.values())
    asked = {(k, m) for r in firsts for k in r.segments["kpi"] for m in r.segments["municipality"]}
    assert asked == {(k, m) for k in kpis for m in municipalities}


def test_from_date_is_passed_on_every_page(server: KoladaFixtureServer) -> None:
    server.rate_limit_at = set()
    with client_for(server, FakeTime()) as client:
        observations = list(client.data(KPIS, MUNICIPALITIES, YEARS, from_date="2025-01-01"))
    assert observations == [KoladaValue("U00400", "1402", 2024, "T", 3.5)]
    assert [r.query["from_date"] for r in server.requests] == [["2025-01-01"]]
    with pytest.raises(ValueError, match="from_date"):
        client.data(KPIS, MUNICIPALITIES, YEARS, from_date="1 Jan 2025")


def test_a_revised_value_is_served_after_set_rows(server: KoladaFixtureServer) -> None:
    server.rate_limit_at = set()
    revised = json.loads(json.dumps(DEFAULT_ROWS))
    revised[0]["values"][0]["value"] = 77.0
    with client_for(server, FakeTime()) as client:
        before = fold(client.data(["N15428"], ["1471"], [2024]))
        server.set_rows(revised)
        after = fold(client.data(["N15428"], ["1471"], [2024]))
    assert (before[0].total, after[0].total) == (76.4, 77.0)


@pytest.mark.parametrize(
    "foreign",
    ["http://evil.example/v3/data?page=2", "http://localhost:{port}/v3/data?page=2", "other-port"],
)
def test_a_next_url_to_another_host_is_refused_and_never_asked(
    server: KoladaFixtureServer, foreign: str
) -> None:
    server.rate_limit_at = set()
    port = int(server.base_url.rsplit(":", 1)[1])
    with KoladaFixtureServer() as other:
        if foreign == "other-port":
            foreign = other.base_url + "/v3/data/kpi/N15428/municipality/1471/year/2024"
        server.next_url_override = foreign.format(port=port)
        with client_for(server, FakeTime()) as client:
            pages = client.data(KPIS, MUNICIPALITIES, YEARS)
            with pytest.raises(KoladaUnsafeURL, match="refused next_url"):
                list(pages)
        assert other.requests == []
    assert len(server.requests) == 1


def test_a_redirect_is_not_followed(server: KoladaFixtureServer) -> None:
    server.rate_limit_at = set()
    server.fail_at = {1}
    server.fail_status = 302
    with client_for(server, FakeTime()) as client, pytest.raises(KoladaUnsafeURL, match="302"):
        list(client.data(KPIS, MUNICIPALITIES, YEARS))
    assert len(server.requests) == 1


def test_a_page_that_is_not_kolada_fails_naming_where(server: KoladaFixtureServer) -> None:
    server.rate_limit_at = set()
    server.set_rows([{**DEFAULT_ROWS[1], "values": [{"gender": "X", "value": 1.0}]}])
    with (
        client_for(server, FakeTime()) as client,
        pytest.raises(
            KoladaFormatError,
            match=r"page=1&per_page=5000: response\.values\[0\]\.values\[0\]\.gender",
        ),
    ):
        list(client.data(KPIS, MUNICIPALITIES, YEARS))


def test_the_base_url_comes_from_kolada_base_url(
    server: KoladaFixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    with KoladaClient() as default:
        assert default.base_url == DEFAULT_BASE_URL
    monkeypatch.setenv(BASE_URL_ENV, server.base_url + "/")
    with KoladaClient() as client:
        assert client.base_url == server.base_url
    source = open_source(client=lambda url: client_for(server, FakeTime()))
    assert isinstance(source, KoladaClient)
    assert len(list(source.data(KPIS, MUNICIPALITIES, YEARS))) == 7
    source.close()


@pytest.mark.parametrize("shape", ["page", "pages", "rows"])
def test_a_file_of_pages_or_rows_gives_the_same_observations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    rows = [{k: v for k, v in r.items() if k != "updated"} for r in DEFAULT_ROWS]
    doc: Any = {
        "page": {"values": rows, "count": 1, "next_url": "http://evil.example/never"},
        "pages": [{"values": rows[:2], "next_url": "x"}, {"values": rows[2:], "next_url": None}],
        "rows": rows,
    }[shape]
    path = tmp_path / "kolada.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    source = KoladaFile(path)
    assert len(list(source.data(KPIS, MUNICIPALITIES, YEARS))) == 7
    assert list(source.data(["U00400"], ["1402", "9999"], [2024])) == [
        KoladaValue("U00400", "1402", 2024, "T", 3.5)
    ]
    monkeypatch.setenv(BASE_URL_ENV, str(path))
    from_env = open_source()
    assert isinstance(from_env, KoladaFile)
    assert list(from_env.data(KPIS, MUNICIPALITIES, YEARS, from_date="2025-01-01")) == list(
        source.data(KPIS, MUNICIPALITIES, YEARS)
    )  # a file is a full snapshot
    assert isinstance(open_source(f"file://{path}"), KoladaFile)


def test_a_file_that_is_missing_or_not_kolada_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot read"):
        list(KoladaFile(tmp_path / "absent.json").data(KPIS, MUNICIPALITIES, YEARS))
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(KoladaFormatError, match="not JSON"):
        list(KoladaFile(broken).data(KPIS, MUNICIPALITIES, YEARS))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"kpi": "N1", "municipality": "1471", "period": 2024}]))
    with pytest.raises(KoladaFormatError, match=r"wrong\.json\[0\]\.values"):
        list(KoladaFile(wrong).data(KPIS, MUNICIPALITIES, YEARS))
