"""A client of the Kolada API v3: indicator values (KPI x municipality x year) as typed
observations, from the API or from a JSON file.

Groundwork for importing Kolada results into reports (`source = "kolada"`); nothing here records
anything. The module has two halves:

- **Pure functions** (no I/O): `parse_period`, `parse_row`, `parse_page`, `parse_document`,
  `data_path`, `data_query`, `chunked`, `checked_next_url`, `parse_retry_after`, `fold`,
  `asked_by`.
- **I/O**: `KoladaClient` (HTTP with httpx: throttle, 429/5xx retries, paging by `next_url`),
  `KoladaFile` (a saved JSON file), and `open_source`, which picks one of them.

Kolada v3 answers `{"values": [...], "count": n, "next_url": url | null, "previous_url": ...}`;
a data row is `{"kpi": "N15428", "municipality": "1471", "period": 2024, "values": [{"gender":
"T" | "K" | "M", "count": 1, "status": "", "value": 76.4 | null, "isdeleted": false}]}`.
Paging follows `next_url` until it is null (`count` is never used for paging); a `next_url` on
another origin than the base URL is refused, never followed; so are a page repeating an earlier
page's rows (a loop), more rows than the request names, and a row it does not name. An answer
is read within `max_answer_seconds` and `max_answer_bytes`. A null `value` is "no data"; an
`isdeleted: true` value is a withdrawal (its `value` is dropped).

**The file format** (`KoladaFile`, or `open_source("path/to/file.json")`): UTF-8 JSON, one of
1. one saved response: `{"values": [row, ...], ...}` (`next_url` and `count` are ignored);
2. a list of saved responses, in order: `[{"values": [row, ...]}, ...]`;
3. a list of data rows: `[{"kpi": ..., "municipality": ..., "period": ..., "values": [...]}]`.
Rows are as the API sends them. A file is a full snapshot: `data()` keeps the rows of the
requested KPIs, municipalities and years, and `from_date` does not narrow it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, cast
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

DEFAULT_BASE_URL = "https://api.kolada.se"
BASE_URL_ENV = "KOLADA_BASE_URL"
#: at most this many ids in one comma-separated path segment
MAX_IDS_PER_SEGMENT = 25
#: the API's largest page
MAX_PER_PAGE = 5000
DEFAULT_REQUESTS_PER_SECOND = 5.0

Gender = Literal["T", "K", "M"]
GENDERS: tuple[Gender, ...] = ("T", "K", "M")

_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_YEAR = re.compile(r"\s*(\d{4})\s*", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_UNSAFE_URL_CHARS = re.compile(r"[\\\s\x00-\x1f\x7f]")


# -- errors ---------------------------------------------------------------------------------------


class KoladaError(Exception):
    """Anything that went wrong reading Kolada."""


class KoladaFormatError(KoladaError):
    """A response or file that is not what Kolada v3 sends (names where and what)."""


class KoladaRequestError(KoladaError):
    """The API refused or failed a request (4xx, or 5xx/429/network after the retries)."""


class KoladaUnsafeURL(KoladaError):
    """A `next_url` (or redirect) that leaves the base URL's origin: refused, never followed."""


# -- values ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KoladaValue:
    """One observation: a KPI's value for a municipality, year and gender (T total, K women,
    M men). `value` None means no data; `deleted` means Kolada withdrew it (value then None)."""

    kpi: str
    municipality: str
    year: int
    gender: Gender
    value: float | None
    deleted: bool = False


@dataclass(frozen=True)
class KoladaResult:
    """The observations of one (kpi, municipality, year) folded: T -> total, K -> women,
    M -> men. A deleted or null value is None; `withdrawn` is True when the total was deleted
    (the result should be withdrawn). `has_data`: a total to record."""

    kpi: str
    municipality: str
    year: int
    total: float | None
    women: float | None
    men: float | None
    withdrawn: bool = False

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.kpi, self.municipality, self.year)

    @property
    def has_data(self) -> bool:
        return self.total is not None and not self.withdrawn


@dataclass(frozen=True)
class Page:
    """One response of the API: its rows (unparsed), the next page's URL and the claimed count."""

    rows: tuple[Mapping[str, object], ...]
    next_url: str | None
    count: int | None = None


# -- pure parsing ---------------------------------------------------------------------------------


def parse_period(raw: object, where: str = "period") -> int:
    """A year from an integer (2024) or a string ("2024"); anything else is refused."""
    if isinstance(raw, bool):
        raise KoladaFormatError(f"{where}: a year is an integer or a string, not {raw!r}")
    if isinstance(raw, int):
        year = raw
    elif isinstance(raw, str) and (match := _YEAR.fullmatch(raw)):
        year = int(match.group(1))
    else:
        raise KoladaFormatError(
            f"{where}: a year is an integer or a string of four digits, not {raw!r}"
        )
    if not 1900 <= year <= 2999:
        raise KoladaFormatError(f"{where}: {year} is not a plausible year")
    return year


def _text(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not _ID.fullmatch(raw):
        raise KoladaFormatError(f"{where}: an id of letters, digits, - or _, not {raw!r}")
    return raw


def _value(raw: object, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise KoladaFormatError(f"{where}: a number or null, not {raw!r}")
    try:
        number = float(raw)
    except OverflowError:  # an integer beyond any float, e.g. 10**400 from json.loads
        number = math.inf
    if not math.isfinite(number):
        raise KoladaFormatError(f"{where}: a finite number, not {raw!r}")
    return number


def parse_row(row: object, where: str = "row") -> list[KoladaValue]:
    """The observations of one data row, one per gender it lists."""
    if not isinstance(row, Mapping):
        raise KoladaFormatError(f"{where}: a data row is an object, not {type(row).__name__}")
    kpi = _text(row.get("kpi"), f"{where}.kpi")
    municipality = _text(row.get("municipality"), f"{where}.municipality")
    year = parse_period(row.get("period"), f"{where}.period")
    entries = row.get("values")
    if not isinstance(entries, list):
        raise KoladaFormatError(f"{where}.values: a list, not {entries!r}")
    out: list[KoladaValue] = []
    for i, entry in enumerate(entries):
        at = f"{where}.values[{i}]"
        if not isinstance(entry, Mapping):
            raise KoladaFormatError(f"{at}: an object, not {entry!r}")
        gender = entry.get("gender")
        if gender not in GENDERS:
            raise KoladaFormatError(f"{at}.gender: one of T, K, M, not {gender!r}")
        deleted = entry.get("isdeleted", False)
        if not isinstance(deleted, bool):
            raise KoladaFormatError(f"{at}.isdeleted: true or false, not {deleted!r}")
        value = _value(entry.get("value"), f"{at}.value")
        out.append(
            KoladaValue(
                kpi,
                municipality,
                year,
                cast(Gender, gender),
                None if deleted else value,
                deleted,
            )
        )
    return out


def parse_page(doc: object, where: str = "response") -> Page:
    """One API response (or one saved page of a file)."""
    if not isinstance(doc, Mapping):
        raise KoladaFormatError(f"{where}: an object with 'values', not {type(doc).__name__}")
    rows = doc.get("values")
    if not isinstance(rows, list):
        raise KoladaFormatError(f"{where}.values: a list, not {rows!r}")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise KoladaFormatError(f"{where}.values[{i}]: an object, not {row!r}")
    next_url = doc.get("next_url")
    if next_url is not None and (not isinstance(next_url, str) or not next_url.strip()):
        raise KoladaFormatError(f"{where}.next_url: a URL or null, not {next_url!r}")
    count = doc.get("count")
    return Page(
        tuple(rows),
        next_url,
        count if isinstance(count, int) and not isinstance(count, bool) else None,
    )


def parse_values(page: Page, where: str = "response") -> list[KoladaValue]:
    out: list[KoladaValue] = []
    for i, row in enumerate(page.rows):
        out.extend(parse_row(row, f"{where}.values[{i}]"))
    return out


def parse_document(doc: object, where: str = "file") -> list[KoladaValue]:
    """A file's JSON (see the module's docstring): a page, a list of pages or a list of rows."""
    if isinstance(doc, Mapping):
        return parse_values(parse_page(doc, where), where)
    if not isinstance(doc, list):
        raise KoladaFormatError(
            f"{where}: a page object, a list of pages or a list of rows, not {type(doc).__name__}"
        )
    pages = [isinstance(d, Mapping) and "kpi" not in d and "values" in d for d in doc]
    if doc and all(pages):
        out: list[KoladaValue] = []
        for i, item in enumerate(doc):
            out.extend(parse_values(parse_page(item, f"{where}[{i}]"), f"{where}[{i}]"))
        return out
    if any(pages):
        raise KoladaFormatError(f"{where}: a list of pages or of rows, not a mix of both")
    out = []
    for i, row in enumerate(doc):
        out.extend(parse_row(row, f"{where}[{i}]"))
    return out


def fold(observations: Iterable[KoladaValue]) -> list[KoladaResult]:
    """Per (kpi, municipality, year): T -> total, K -> women, M -> men, in key order. A later
    observation of the same gender replaces an earlier one (pages are read in order)."""
    latest: dict[tuple[str, str, int], dict[Gender, KoladaValue]] = {}
    for o in observations:
        latest.setdefault((o.kpi, o.municipality, o.year), {})[o.gender] = o
    return [
        KoladaResult(
            kpi,
            municipality,
            year,
            _standing(by_gender.get("T")),
            _standing(by_gender.get("K")),
            _standing(by_gender.get("M")),
            withdrawn=by_gender["T"].deleted if "T" in by_gender else False,
        )
        for (kpi, municipality, year), by_gender in sorted(latest.items())
    ]


def _standing(o: KoladaValue | None) -> float | None:
    return None if o is None or o.deleted else o.value


def chunked(items: Sequence[str], size: int = MAX_IDS_PER_SEGMENT) -> list[list[str]]:
    if size < 1:
        raise ValueError("a chunk holds at least one id")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _ids(raw: Iterable[str], what: str) -> list[str]:
    if isinstance(raw, str):
        raise ValueError(f"{what}: a list of ids, not one string {raw!r}")
    seen: dict[str, None] = {}
    for item in raw:
        if not isinstance(item, str) or not _ID.fullmatch(item):
            raise ValueError(f"{what}: an id of letters, digits, - or _, not {item!r}")
        seen[item] = None
    if not seen:
        raise ValueError(f"{what}: at least one id")
    return list(seen)


def _years(raw: Iterable[int | str]) -> list[str]:
    if isinstance(raw, str | int):
        raise ValueError(f"years: a list of years, not {raw!r}")
    try:
        years = sorted({parse_period(y, "years") for y in raw})
    except KoladaFormatError as e:
        raise ValueError(str(e)) from None
    if not years:
        raise ValueError("years: at least one year")
    return [str(y) for y in years]


def data_paths(
    kpis: Iterable[str], municipalities: Iterable[str], years: Iterable[int | str]
) -> list[str]:
    """The data paths covering every (kpi, municipality, year), at most 25 ids a segment."""
    kpi_chunks = chunked(_ids(kpis, "kpis"))
    municipality_chunks = chunked(_ids(municipalities, "municipalities"))
    year_chunks = chunked(_years(years))
    return [
        data_path(k, m, y) for k in kpi_chunks for m in municipality_chunks for y in year_chunks
    ]


def data_path(kpis: Sequence[str], municipalities: Sequence[str], years: Sequence[str]) -> str:
    for what, segment in (("kpis", kpis), ("municipalities", municipalities), ("years", years)):
        if not 1 <= len(segment) <= MAX_IDS_PER_SEGMENT:
            raise ValueError(f"{what}: 1 to {MAX_IDS_PER_SEGMENT} ids in one path segment")
        for item in segment:
            if not _ID.fullmatch(item):
                raise ValueError(f"{what}: an id of letters, digits, - or _, not {item!r}")
    return (
        f"/v3/data/kpi/{','.join(kpis)}/municipality/{','.join(municipalities)}"
        f"/year/{','.join(years)}"
    )


@dataclass(frozen=True)
class Asked:
    """What one data request names: Kolada answers it with one row per (kpi, municipality,
    year) of these, and with no other row."""

    kpis: frozenset[str]
    municipalities: frozenset[str]
    years: frozenset[int]

    @property
    def rows(self) -> int:
        """The most rows the answer can hold."""
        return len(self.kpis) * len(self.municipalities) * len(self.years)

    def check(self, observation: KoladaValue, where: str) -> None:
        """A row of another KPI, municipality or year is refused: an import records only
        the years (and KPIs) its job names."""
        o = observation
        if (
            o.kpi not in self.kpis
            or o.municipality not in self.municipalities
            or o.year not in self.years
        ):
            raise KoladaFormatError(
                f"{where}: a row of {o.kpi}, {o.municipality}, {o.year}, not asked for"
            )


def asked_by(path: str) -> Asked:
    """The keys a data path (`data_path`) names."""
    parts = path.split("/")  # "", v3, data, kpi, K, municipality, M, year, Y
    if len(parts) != 9 or parts[1:4] != ["v3", "data", "kpi"]:
        raise ValueError(f"not a data path: {path!r}")
    return Asked(
        frozenset(parts[4].split(",")),
        frozenset(parts[6].split(",")),
        frozenset(int(y) for y in parts[8].split(",")),
    )


def parse_from_date(raw: dt.date | str) -> dt.date:
    if isinstance(raw, dt.datetime):
        raise ValueError(f"from_date: a date, not a date-time {raw!r}")
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and _DATE.fullmatch(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValueError(f"from_date: a date YYYY-MM-DD, not {raw!r}")


def data_query(per_page: int = MAX_PER_PAGE, from_date: dt.date | str | None = None) -> str:
    """The first page's query string: page 1, `per_page`, and `from_date` when given."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page: 1 to {MAX_PER_PAGE}, not {per_page}")
    params: dict[str, str] = {"page": "1", "per_page": str(per_page)}
    if from_date is not None:
        params["from_date"] = parse_from_date(from_date).isoformat()
    return urlencode(params)


def _origin(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"a URL with credentials: {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


def checked_next_url(base_url: str, current_url: str, next_url: str) -> str:
    """`next_url` resolved against the page that named it, if it stays on the base URL's origin
    (scheme, host, port) and under its path; otherwise KoladaUnsafeURL (never follow it)."""
    if _UNSAFE_URL_CHARS.search(next_url):
        raise KoladaUnsafeURL(f"refused next_url {next_url!r}: unsafe characters")
    resolved = urljoin(current_url, next_url)
    try:
        scheme, host, port, path = _origin(resolved)
        base_scheme, base_host, base_port, base_path = _origin(base_url)
    except ValueError as e:
        raise KoladaUnsafeURL(f"refused next_url {next_url!r}: {e}") from None
    if (scheme, host, port) != (base_scheme, base_host, base_port):
        raise KoladaUnsafeURL(
            f"refused next_url {next_url!r}: it leaves {base_scheme}://{base_host}:{base_port}"
        )
    if not (path + "/").startswith(base_path + "/"):
        raise KoladaUnsafeURL(f"refused next_url {next_url!r}: outside {base_url}")
    return resolved


def parse_retry_after(raw: str | None) -> float | None:
    """Retry-After in seconds (an integer or decimal >= 0); None when absent or not seconds."""
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _fingerprint(rows: Sequence[Mapping[str, object]]) -> str:
    """A digest of a page's rows, the same for the same rows whatever their keys' order."""
    text = json.dumps(list(rows), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json(text: str | bytes, what: str) -> object:
    """JSON, or a KoladaFormatError naming `what`: a document nested too deeply for Python's
    parser is a RecursionError, not a ValueError, and would otherwise escape as one."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise KoladaFormatError(f"{what} is not JSON ({e})") from None


# -- I/O -------------------------------------------------------------------------------------------


class KoladaSource(Protocol):
    def data(
        self,
        kpis: Iterable[str],
        municipalities: Iterable[str],
        years: Iterable[int | str],
        *,
        from_date: dt.date | str | None = None,
    ) -> Iterator[KoladaValue]: ...

    def close(self) -> None: ...


class KoladaClient:
    """Kolada v3 over HTTP.

    - `base_url`: None reads `KOLADA_BASE_URL`, else https://api.kolada.se.
    - `requests_per_second`: the throttle (default 5; 0 turns it off), over every request
      including retries.
    - `max_retries`: how often one page is asked again after a 429, a 5xx or a network error;
      a 429 waits its `Retry-After` seconds (refused above `max_retry_after`), the others
      `backoff` seconds doubling. Then KoladaRequestError. Another 4xx fails at once.
    - `max_answer_seconds`, `max_answer_bytes`: one answer read in longer or larger than this
      fails the request at once. `timeout` bounds each wait for a byte, so without them an
      answer trickling a byte at a time, or one without end, would hold an import forever.
    - `sleep`, `clock`, `transport`: injectable for tests.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
        per_page: int = MAX_PER_PAGE,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_retry_after: float = 120.0,
        max_pages: int = 10_000,
        timeout: float = 30.0,
        max_answer_seconds: float = 300.0,
        max_answer_bytes: int = 200_000_000,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        try:
            _origin(base)
        except ValueError as e:
            raise ValueError(f"Kolada base URL: {e}") from None
        if requests_per_second < 0 or not math.isfinite(requests_per_second):
            raise ValueError("requests_per_second: 0 (off) or more")
        if max_retries < 0 or max_pages < 1:
            raise ValueError("max_retries: 0 or more; max_pages: 1 or more")
        if not max_answer_seconds > 0 or max_answer_bytes < 1:
            raise ValueError("max_answer_seconds and max_answer_bytes: more than 0")
        data_query(per_page)  # validates per_page
        self.base_url = base
        self.per_page = per_page
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.max_pages = max_pages
        self.max_answer_seconds = max_answer_seconds
        self.max_answer_bytes = max_answer_bytes
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next_at: float | None = None
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "styrkort-kolada"},
            transport=transport,
        )

    def __enter__(self) -> KoladaClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def data(
        self,
        kpis: Iterable[str],
        municipalities: Iterable[str],
        years: Iterable[int | str],
        *,
        from_date: dt.date | str | None = None,
    ) -> Iterator[KoladaValue]:
        """Every observation of the KPIs x municipalities x years (changed since `from_date`
        when given), one request per chunk of at most 25 ids a segment, each paged through.
        The arguments are checked at once (ValueError); the requests go as it is iterated."""
        query = data_query(self.per_page, from_date)
        requests = [
            (f"{self.base_url}{path}?{query}", asked_by(path))
            for path in data_paths(kpis, municipalities, years)
        ]
        return (o for url, asked in requests for page in self.pages(url, asked) for o in page)

    def pages(self, first_url: str, asked: Asked | None = None) -> Iterator[list[KoladaValue]]:
        """The observations of each page, following `next_url` until it is null. Kolada's rows
        are each one (kpi, municipality, year), so a page that repeats an earlier one's rows is
        a loop whatever its URL, and more rows in all than `asked` names are pages without
        end: either would otherwise be read max_pages times over. A row `asked` does not name
        is refused."""
        url = checked_next_url(self.base_url, self.base_url + "/", first_url)
        seen: set[str] = set()
        contents: set[str] = set()
        rows = 0
        while True:
            if url in seen:
                raise KoladaFormatError(f"next_url {url} was read already: the pages loop")
            if len(seen) >= self.max_pages:
                raise KoladaFormatError(f"more than {self.max_pages} pages from {first_url}")
            seen.add(url)
            where = f"{url}: response"
            page = parse_page(self._get_json(url), where)
            content = _fingerprint(page.rows)
            if content in contents:
                raise KoladaFormatError(
                    f"{url} repeats the rows of an earlier page: the pages loop"
                )
            contents.add(content)
            rows += len(page.rows)
            if asked is not None and rows > asked.rows:
                raise KoladaFormatError(
                    f"{url}: more rows than the {asked.rows} (kpi, municipality, year) asked "
                    f"for from {first_url}: the pages do not end"
                )
            found = parse_values(page, where)
            if asked is not None:
                for o in found:
                    asked.check(o, where)
            yield found
            if page.next_url is None:
                return
            url = checked_next_url(self.base_url, url, page.next_url)

    def _throttle(self) -> None:
        if not self._interval:
            return
        now = self._clock()
        if self._next_at is not None and now < self._next_at:
            self._sleep(self._next_at - now)
            now = self._next_at
        self._next_at = now + self._interval

    def _get_json(self, url: str) -> object:
        target = httpx.URL(url)
        base = httpx.URL(self.base_url)
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise KoladaUnsafeURL(f"refused {url}: not on {self.base_url}")
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            self._throttle()
            try:
                response, body = self._get(target, url)
            except httpx.TransportError as e:
                if last:
                    raise KoladaRequestError(
                        f"GET {url} failed on all {attempts} attempts: {e!r}"
                    ) from e
                self._sleep(self.backoff * 2 ** (attempt - 1))
                continue
            status = response.status_code
            if status == 429:
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > self.max_retry_after:
                    raise KoladaRequestError(
                        f"GET {url}: 429, Retry-After {wait:g} s is more than the "
                        f"{self.max_retry_after:g} s this client waits"
                    )
                if last:
                    raise KoladaRequestError(f"GET {url}: 429 Too Many Requests {attempts} times")
                self._sleep(wait if wait is not None else self.backoff * 2 ** (attempt - 1))
                continue
            if status >= 500:
                if last:
                    raise KoladaRequestError(
                        f"GET {url}: {status} {response.reason_phrase} on all {attempts} attempts"
                    )
                self._sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if 300 <= status < 400:
                raise KoladaUnsafeURL(
                    f"GET {url}: {status} redirect to {response.headers.get('Location')!r} "
                    "refused (redirects are not followed)"
                )
            if status != 200:
                raise KoladaRequestError(f"GET {url}: {status} {response.reason_phrase}")
            return _json(body, f"GET {url}: the answer")
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, target: httpx.URL, url: str) -> tuple[httpx.Response, bytes]:
        """The answer, and its body when it is a 200, within `max_answer_seconds` from the
        request's start: the request runs in a worker thread this one waits for that long,
        since no read of a server that trickles its status line or headers a byte at a time
        ever times out. A worker given up on is left to end alone (its reads still time out,
        and `_read` stops at the limits)."""
        started = time.monotonic()
        outcome: list[tuple[httpx.Response, bytes] | BaseException] = []

        def work() -> None:
            try:
                outcome.append(self._read(target, url, started))
            except BaseException as e:  # handed to the waiting thread, raised there
                outcome.append(e)

        worker = threading.Thread(target=work, name="kolada-get", daemon=True)
        worker.start()
        worker.join(self.max_answer_seconds)
        if not outcome:
            raise self._too_slow(url)
        found = outcome[0]
        if isinstance(found, BaseException):
            raise found
        return found

    def _read(self, target: httpx.URL, url: str, started: float) -> tuple[httpx.Response, bytes]:
        """The answer and its body (of a 200), read a piece at a time, so that an answer
        taking longer than `max_answer_seconds` or growing past `max_answer_bytes` (once
        decompressed) stops being read."""
        with self._http.stream("GET", target) as response:
            if response.status_code != 200:
                return response, b""
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if len(body) > self.max_answer_bytes:
                    raise KoladaFormatError(
                        f"GET {url}: the answer is larger than {self.max_answer_bytes} bytes"
                    )
                if time.monotonic() - started > self.max_answer_seconds:
                    raise self._too_slow(url)
            return response, bytes(body)

    def _too_slow(self, url: str) -> KoladaRequestError:
        return KoladaRequestError(
            f"GET {url}: the answer took more than {self.max_answer_seconds:g} seconds to arrive"
        )


class KoladaFile:
    """Kolada data from a JSON file (the format is in the module's docstring). A file larger
    than `max_bytes` is refused: it is read whole into memory, so a mistaken path (a disk
    image, a device that never ends) would otherwise fill it."""

    def __init__(self, path: str | Path, *, max_bytes: int = 500_000_000) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes

    def observations(self) -> list[KoladaValue]:
        try:
            with self.path.open("rb") as f:
                raw = f.read(self.max_bytes + 1)
        except OSError as e:
            raise KoladaError(f"cannot read {self.path}: {e.strerror}") from None
        if len(raw) > self.max_bytes:
            raise KoladaFormatError(f"{self.path}: larger than {self.max_bytes} bytes")
        try:
            text = raw.decode("utf-8")
        except ValueError as e:
            raise KoladaFormatError(f"{self.path}: not JSON ({e})") from None
        return parse_document(_json(text, str(self.path)), str(self.path))

    def data(
        self,
        kpis: Iterable[str],
        municipalities: Iterable[str],
        years: Iterable[int | str],
        *,
        from_date: dt.date | str | None = None,
    ) -> Iterator[KoladaValue]:
        """The file's observations of the KPIs x municipalities x years. A file is a full
        snapshot: `from_date` is checked but does not narrow it."""
        wanted_kpis = set(_ids(kpis, "kpis"))
        wanted_municipalities = set(_ids(municipalities, "municipalities"))
        wanted_years = {int(y) for y in _years(years)}
        if from_date is not None:
            parse_from_date(from_date)
        return (
            o
            for o in self.observations()
            if o.kpi in wanted_kpis
            and o.municipality in wanted_municipalities
            and o.year in wanted_years
        )

    def close(self) -> None:
        pass


def open_source(
    location: str | Path | None = None,
    *,
    client: Callable[[str], KoladaSource] = KoladaClient,
) -> KoladaSource:
    """`location` (else `KOLADA_BASE_URL`, else https://api.kolada.se): an http(s) URL is the
    API's base URL (`client(url)` makes the client); anything else (a path, or a file:// URL)
    is a JSON file."""
    where = str(location or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
    if where.startswith(("http://", "https://")):
        return client(where)
    return KoladaFile(where.removeprefix("file://"))
