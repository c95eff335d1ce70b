"""The Kolada client's pure half: parsing rows and pages, paths and chunks, next_url's origin,
Retry-After, the file format and the fold into total / women / men. No I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.reports.kolada import (
    KoladaFormatError,
    KoladaResult,
    KoladaUnsafeURL,
    KoladaValue,
    checked_next_url,
    chunked,
    data_path,
    data_paths,
    data_query,
    fold,
    parse_document,
    parse_from_date,
    parse_page,
    parse_period,
    parse_retry_after,
    parse_row,
)

BASE = "https://api.kolada.se"


def row(period: Any = 2024, **value: Any) -> dict[str, Any]:
    entry = {"gender": "T", "count": 1, "status": "", "value": 76.4, "isdeleted": False} | value
    return {"kpi": "N15428", "municipality": "1471", "period": period, "values": [entry]}


# -- period ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [2024, "2024", " 2024 "])
def test_a_period_is_an_integer_or_a_string(raw: object) -> None:
    assert parse_period(raw) == 2024


@pytest.mark.parametrize(
    "raw", [None, True, 2024.0, "", "20x4", "2024-01", "24", "12345", -2024, 0, "١٩٩٤", [2024]]
)
def test_a_garbage_period_is_refused_naming_it(raw: object) -> None:
    with pytest.raises(KoladaFormatError, match=r"period"):
        parse_period(raw)


def test_a_row_with_a_string_period_gives_an_integer_year() -> None:
    assert parse_row(row("2023")) == [KoladaValue("N15428", "1471", 2023, "T", 76.4, False)]


# -- rows -----------------------------------------------------------------------------------------


def test_a_gender_split_gives_one_observation_each() -> None:
    doc = row()
    doc["values"] = [
        {"gender": "T", "value": 76.4},
        {"gender": "K", "value": 80},
        {"gender": "M", "value": 72.9, "isdeleted": False},
    ]
    assert parse_row(doc) == [
        KoladaValue("N15428", "1471", 2024, "T", 76.4),
        KoladaValue("N15428", "1471", 2024, "K", 80.0),
        KoladaValue("N15428", "1471", 2024, "M", 72.9),
    ]
    assert isinstance(parse_row(doc)[1].value, float)


def test_a_null_value_is_no_data() -> None:
    assert parse_row(row(value=None)) == [KoladaValue("N15428", "1471", 2024, "T", None, False)]


def test_a_deleted_value_is_a_withdrawal_without_its_value() -> None:
    assert parse_row(row(isdeleted=True)) == [KoladaValue("N15428", "1471", 2024, "T", None, True)]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"gender": "X"}, "gender"),
        ({"gender": None}, "gender"),
        ({"value": "76.4"}, "value"),
        ({"value": True}, "value"),
        ({"value": float("nan")}, "value"),
        ({"isdeleted": "false"}, "isdeleted"),
    ],
)
def test_a_bad_value_entry_is_refused_naming_where(change: dict[str, Any], where: str) -> None:
    with pytest.raises(KoladaFormatError, match=rf"values\[0\]\.{where}"):
        parse_row(row(**change))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"kpi": None}, "kpi"),
        ({"kpi": "N1/../x"}, "kpi"),
        ({"kpi": "N15428\n"}, "kpi"),
        ({"municipality": 1471}, "municipality"),
        ({"values": None}, "values"),
        ({"values": ["T"]}, "values"),
    ],
)
def test_a_bad_row_is_refused_naming_where(change: dict[str, Any], where: str) -> None:
    with pytest.raises(KoladaFormatError, match=where):
        parse_row(row() | change)


# -- pages and files ------------------------------------------------------------------------------


def test_a_page_keeps_next_url_and_ignores_a_wrong_count() -> None:
    page = parse_page({"values": [row()], "count": 99, "next_url": f"{BASE}/v3/x?page=2"})
    assert page.next_url == f"{BASE}/v3/x?page=2"
    assert page.count == 99
    assert len(page.rows) == 1


@pytest.mark.parametrize(
    "doc",
    [[], {"count": 1}, {"values": {}}, {"values": [1]}, {"values": [], "next_url": 3}],
)
def test_a_bad_page_is_refused(doc: object) -> None:
    with pytest.raises(KoladaFormatError):
        parse_page(doc)


def test_a_file_is_a_page_a_list_of_pages_or_a_list_of_rows() -> None:
    a, b = row(2023), row("2024", value=None)
    expected = parse_row(a) + parse_row(b)
    assert parse_document({"values": [a, b], "next_url": "https://elsewhere/ignored"}) == expected
    assert parse_document([{"values": [a]}, {"values": [b], "count": 0}]) == expected
    assert parse_document([a, b]) == expected
    assert parse_document([]) == []


@pytest.mark.parametrize("doc", [[{"values": [row()]}, row()], "text", 3, [1]])
def test_a_file_of_something_else_is_refused(doc: object) -> None:
    with pytest.raises(KoladaFormatError):
        parse_document(doc)


# -- fold -----------------------------------------------------------------------------------------


def test_fold_gives_total_women_and_men_per_kpi_municipality_and_year() -> None:
    observations = [
        KoladaValue("N1", "1471", 2024, "K", 80.0),
        KoladaValue("N1", "1471", 2024, "T", 76.4),
        KoladaValue("N1", "1471", 2024, "M", 72.9),
        KoladaValue("N1", "1471", 2023, "T", 70.0),
        KoladaValue("N1", "1402", 2024, "T", None),
        KoladaValue("U2", "1471", 2024, "T", None, deleted=True),
    ]
    assert fold(observations) == [
        KoladaResult("N1", "1402", 2024, None, None, None),
        KoladaResult("N1", "1471", 2023, 70.0, None, None),
        KoladaResult("N1", "1471", 2024, 76.4, 80.0, 72.9),
        KoladaResult("U2", "1471", 2024, None, None, None, withdrawn=True),
    ]
    has_data = [r.has_data for r in fold(observations)]
    assert has_data == [False, True, True, False]


def test_fold_lets_a_later_observation_replace_an_earlier_one() -> None:
    first = KoladaValue("N1", "1471", 2024, "T", 76.4)
    revised = KoladaValue("N1", "1471", 2024, "T", 77.0)
    deleted = KoladaValue("N1", "1471", 2024, "T", None, deleted=True)
    women_deleted = KoladaValue("N1", "1471", 2024, "K", None, deleted=True)
    assert fold([first, revised])[0].total == 77.0
    assert fold([first, deleted])[0].withdrawn
    assert fold([deleted, revised])[0] == KoladaResult("N1", "1471", 2024, 77.0, None, None)
    only_women_gone = fold([revised, women_deleted])[0]
    assert (only_women_gone.total, only_women_gone.women, only_women_gone.withdrawn) == (
        77.0,
        None,
        False,
    )
    assert fold([]) == []


# -- paths, chunks, query -------------------------------------------------------------------------


def test_chunks_hold_at_most_25_ids() -> None:
    ids = [f"N{i:05}" for i in range(60)]
    chunks = chunked(ids)
    assert [len(c) for c in chunks] == [25, 25, 10]
    assert [i for c in chunks for i in c] == ids
    with pytest.raises(ValueError):
        chunked(ids, 0)


def test_data_paths_split_every_segment_into_25s() -> None:
    kpis = [f"N{i:05}" for i in range(30)]
    municipalities = [f"{i:04}" for i in range(26)]
    paths = data_paths(kpis, municipalities, [2024, "2023", 2024])
    assert len(paths) == 4
    assert paths[0] == (
        f"/v3/data/kpi/{','.join(kpis[:25])}/municipality/{','.join(municipalities[:25])}"
        "/year/2023,2024"
    )
    assert paths[3] == f"/v3/data/kpi/{','.join(kpis[25:])}/municipality/0025/year/2023,2024"


@pytest.mark.parametrize(
    ("kpis", "municipalities", "years"),
    [
        ([], ["1471"], [2024]),
        ("N15428", ["1471"], [2024]),
        (["N1,N2"], ["1471"], [2024]),
        (["N1"], ["../x"], [2024]),
        (["N1"], ["1471"], []),
        (["N1"], ["1471"], ["next year"]),
    ],
)
def test_data_paths_refuse_bad_arguments(kpis: Any, municipalities: Any, years: Any) -> None:
    with pytest.raises(ValueError):
        data_paths(kpis, municipalities, years)


def test_data_path_refuses_more_than_25_ids_in_a_segment() -> None:
    with pytest.raises(ValueError, match="25"):
        data_path([f"N{i}" for i in range(26)], ["1471"], ["2024"])


def test_the_query_asks_for_page_one_and_passes_from_date() -> None:
    assert data_query() == "page=1&per_page=5000"
    assert data_query(100, "2025-01-31") == "page=1&per_page=100&from_date=2025-01-31"
    assert data_query(from_date=dt.date(2025, 2, 1)).endswith("from_date=2025-02-01")
    with pytest.raises(ValueError, match="per_page"):
        data_query(5001)


@pytest.mark.parametrize(
    "raw",
    ["2025-02-30", "20250101", "2025-1-1", "2025-01-01\n", "yesterday", dt.datetime(2025, 1, 1)],
)
def test_a_bad_from_date_is_refused(raw: Any) -> None:
    with pytest.raises(ValueError, match="from_date"):
        parse_from_date(raw)


# -- next_url -------------------------------------------------------------------------------------


def test_a_next_url_on_the_base_origin_is_followed() -> None:
    current = f"{BASE}/v3/data/kpi/N1/municipality/1471/year/2024?page=1"
    assert checked_next_url(BASE, current, f"{BASE}/v3/data/x?page=2") == f"{BASE}/v3/data/x?page=2"
    assert checked_next_url(BASE, current, "?page=2").endswith("/year/2024?page=2")
    assert checked_next_url(BASE, current, "https://API.kolada.se:443/v3/x").startswith("https")


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/v3/data",
        "http://api.kolada.se/v3/data",  # another scheme
        "https://api.kolada.se:8443/v3/data",  # another port
        "https://api.kolada.se.evil.example/v3/data",
        "https://api.kolada.se@evil.example/v3/data",
        "https://evil.example\\@api.kolada.se/v3/data",
        "//evil.example/v3/data",
        "ftp://api.kolada.se/v3/data",
        "https://api.kolada.se/v3/data\n",
        "file:///etc/passwd",
    ],
)
def test_a_next_url_elsewhere_is_refused(next_url: str) -> None:
    with pytest.raises(KoladaUnsafeURL, match="refused"):
        checked_next_url(BASE, f"{BASE}/v3/data?page=1", next_url)


def test_a_next_url_outside_the_base_path_is_refused() -> None:
    base = "http://127.0.0.1:8000/kolada"
    assert checked_next_url(base, base + "/", "/kolada/v3/x").endswith("/kolada/v3/x")
    with pytest.raises(KoladaUnsafeURL):
        checked_next_url(base, base + "/", "/admin/v3/x")
    with pytest.raises(KoladaUnsafeURL):
        checked_next_url(base, base + "/", "/koladaX/v3/x")


# -- Retry-After ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("3", 3.0), (" 0 ", 0.0), ("1.5", 1.5), (None, None), ("soon", None), ("-1", None)],
)
def test_retry_after_is_seconds(raw: str | None, seconds: float | None) -> None:
    assert parse_retry_after(raw) == seconds


def test_retry_after_as_an_http_date_is_not_seconds() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
