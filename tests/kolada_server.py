"""A local stand-in for the Kolada API v3 (stdlib http.server in a thread, on 127.0.0.1 and a
free port), with the quirks the client must survive.

It serves `GET /v3/data/kpi/{kpis}/municipality/{ids}/year/{years}?page=&per_page=&from_date=`
from `rows` (Kolada data rows; replace them with `set_rows` to serve a revised value). Quirks:
- pages of at most `page_size` rows (default 2, whatever `per_page` asks), linked by an
  absolute `next_url`, with a wrong `count` (`count_lie`, added to the true total);
- a 429 with `Retry-After: retry_after` for the request numbers in `rate_limit_at` (1-based;
  default the 2nd request, once), and `fail_at` request numbers answering `fail_status`;
- a segment of more than 25 ids answers 400 (so chunking shows);
- a row may carry `"updated": "YYYY-MM-DD"` (not sent): with `from_date` only rows updated on
  or after it are served;
- `next_url_override`: the first page's `next_url` is this (e.g. a foreign host).
The default rows have a null value, a string period, a deleted value and a gender split.

Every request is in `requests` (method, path, query, status) and `timeline` (entries
`("request", status, path_and_query)`); a test may add its own entries (`note`) to see order,
e.g. a recording sleep function's waits.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

MAX_SEGMENT = 25

DEFAULT_ROWS: list[dict[str, Any]] = [
    {  # gender split, an integer period
        "kpi": "N15428",
        "municipality": "1471",
        "period": 2024,
        "values": [
            {"gender": "T", "count": 1, "status": "", "value": 76.4, "isdeleted": False},
            {"gender": "K", "count": 1, "status": "", "value": 80.1, "isdeleted": False},
            {"gender": "M", "count": 1, "status": "", "value": 72.9, "isdeleted": False},
        ],
    },
    {  # a string period
        "kpi": "N15428",
        "municipality": "1471",
        "period": "2023",
        "values": [{"gender": "T", "count": 1, "status": "", "value": 74.0, "isdeleted": False}],
    },
    {  # a null value: no data
        "kpi": "N15428",
        "municipality": "1471",
        "period": 2022,
        "values": [{"gender": "T", "count": 0, "status": "Missing", "value": None}],
    },
    {  # a deleted value: withdrawn
        "kpi": "U00400",
        "municipality": "1471",
        "period": 2024,
        "values": [{"gender": "T", "count": 1, "status": "", "value": 12.0, "isdeleted": True}],
    },
    {  # another municipality, updated recently (for from_date)
        "kpi": "U00400",
        "municipality": "1402",
        "period": 2024,
        "updated": "2025-03-01",
        "values": [{"gender": "T", "count": 1, "status": "", "value": 3.5, "isdeleted": False}],
    },
]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int

    @property
    def segments(self) -> dict[str, list[str]]:
        """The id lists of a data path: {"kpi": [...], "municipality": [...], "year": [...]}."""
        parts = self.path.strip("/").split("/")
        return {parts[i]: parts[i + 1].split(",") for i in range(2, len(parts) - 1, 2)}


class KoladaFixtureServer:
    def __init__(
        self,
        rows: Sequence[Mapping[str, Any]] | None = None,
        *,
        page_size: int = 2,
        count_lie: int = 7,
        rate_limit_at: Collection[int] = (2,),
        retry_after: str = "1",
        fail_at: Collection[int] = (),
        fail_status: int = 503,
        next_url_override: str | None = None,
    ) -> None:
        self.rows: list[dict[str, Any]] = [
            dict(r) for r in copy.deepcopy(list(rows or DEFAULT_ROWS))
        ]
        self.page_size = page_size
        self.count_lie = count_lie
        self.rate_limit_at = set(rate_limit_at)
        self.retry_after = retry_after
        self.fail_at = set(fail_at)
        self.fail_status = fail_status
        self.next_url_override = next_url_override
        self.requests: list[Seen] = []
        self.timeline: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._received = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def set_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self.rows = [dict(r) for r in copy.deepcopy(list(rows))]

    def note(self, *entry: Any) -> None:
        with self._lock:
            self.timeline.append(entry)

    def data_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.path.startswith("/v3/data/")]

    def start(self) -> KoladaFixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> KoladaFixtureServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # -- answering ------------------------------------------------------------------------------
    def answer(
        self, number: int, path: str, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], Any]:
        """The answer to the `number`th request (1-based)."""
        with self._lock:
            if number in self.rate_limit_at:
                return 429, {"Retry-After": self.retry_after}, {"error": "Too Many Requests"}
            if number in self.fail_at:
                return self.fail_status, {}, {"error": "failure on purpose"}
            rows = copy.deepcopy(self.rows)
        parts = path.strip("/").split("/")
        if (
            len(parts) != 8
            or parts[:3] != ["v3", "data", "kpi"]
            or parts[4::2]
            != [
                "municipality",
                "year",
            ]
        ):
            return 404, {}, {"error": f"no such path {path}"}
        kpis, municipalities, years = (parts[i].split(",") for i in (3, 5, 7))
        for segment in (kpis, municipalities, years):
            if len(segment) > MAX_SEGMENT:
                return 400, {}, {"error": f"more than {MAX_SEGMENT} ids in a segment"}
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("per_page", ["5000"])[0])
        from_date = query.get("from_date", [None])[0]
        chosen = [
            {k: v for k, v in row.items() if k != "updated"}
            for row in rows
            if row["kpi"] in kpis
            and row["municipality"] in municipalities
            and str(row["period"]) in years
            and (from_date is None or row.get("updated", "0000-00-00") >= from_date)
        ]
        size = min(per_page, self.page_size)
        start = (page - 1) * size
        values = chosen[start : start + size]
        next_url: str | None = None
        if start + size < len(chosen):
            following = {k: v[0] for k, v in query.items()} | {"page": str(page + 1)}
            next_url = f"{self.base_url}{path}?{urlencode(following)}"
        if page == 1 and self.next_url_override is not None:
            next_url = self.next_url_override
        previous_url = None
        if page > 1:
            earlier = {k: v[0] for k, v in query.items()} | {"page": str(page - 1)}
            previous_url = f"{self.base_url}{path}?{urlencode(earlier)}"
        body = {
            "values": values,
            "count": len(chosen) + self.count_lie,
            "next_url": next_url,
            "previous_url": previous_url,
        }
        return 200, {}, body


def _handler(server: KoladaFixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = parse_qs(parts.query)
            with server._lock:
                server._received += 1
                number = server._received
            status, headers, body = server.answer(number, path, query)
            with server._lock:
                server.requests.append(Seen("GET", path, query, status))
                server.timeline.append(("request", status, self.path))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the requests are in server.requests

    return Handler
