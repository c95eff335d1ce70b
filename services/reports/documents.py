"""The annual and interim report in its three forms: structured JSON, an HTML page and a PDF,
all from one document composed by services/reports/annual_report.py.

The JSON is the composition plus two parts: `comparisons` on each indicator (comparison
municipalities per year, where known) and `anchoring`, the chain head of every store stated by
the council's approval of the year ("Förankring i händelsehistoriken"), so the published
document anchors the history. The HTML is rendered by a Jinja2 template
(templates/annual_report.html) in Swedish, readable without script or network: charts are
inline SVG (shared/charts.py), every number names the event it came from. The PDF is
that HTML laid out by WeasyPrint, with bookmarks and a table of contents with page numbers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any, Literal

import jinja2

from services.reports import annual_report, known, queries
from services.reports.comparisons import for_indicators
from services.reports.domain import annual
from shared import charts, values, versions

Conn = queries.Conn
Kind = Literal["annual", "interim"]
#: indicator id -> year -> what charts.Comparison describes
Comparisons = Mapping[str, Mapping[int, charts.Comparison]]

SERVICE_LABELS = {"reports": "uppföljningen", "goals": "målen", "plans": "planerna"}


# -- the document ----------------------------------------------------------------------------


def compose(
    conn: Conn,
    kind: Kind,
    year: int,
    as_of: dt.datetime | None,
    comparisons: Comparisons | None = None,
) -> dict[str, Any]:
    """The report of `year` as known at `as_of` (an interim report needs it), with comparisons
    and the year's anchoring."""
    if kind == "interim":
        if as_of is None:
            raise ValueError("an interim report is as of an instant")
        doc = annual_report.interim_report(conn, as_of, year)
    else:
        doc = annual_report.annual_report(conn, year, as_of)
    lines = list(indicator_lines(doc))
    if comparisons is None:
        comparisons = comparisons_for(
            conn,
            sorted({line["indicator_id"] for line in lines}),
            sorted({p["year"] for line in lines for p in line["series"]}),
            as_of,
        )
    for line in lines:
        found = comparisons.get(line["indicator_id"])
        line["comparisons"] = {str(y): dict(v) for y, v in found.items()} if found else None
    targets_ahead(conn, doc, year, as_of)
    doc["anchoring"] = anchoring(conn, year, as_of)
    return doc


def targets_ahead(conn: Conn, doc: Mapping[str, Any], year: int, as_of: dt.datetime | None) -> None:
    """Each indicator's targets for the years of its goal's mandate period after the report's
    year (`targets_ahead`, in place): a goal is often set for the period's last year, and the
    chart shows where the outcome is heading against it."""
    last: dict[str, int] = {}
    for goal in goals_of(doc):
        end = int(str(goal["period"]).rpartition("-")[2])
        for line in goal["indicators"]:
            last[line["indicator_id"]] = max(end, last.get(line["indicator_id"], end))
    years = range(year + 1, max(last.values(), default=year) + 1)
    traced = known.traced_yardsticks(conn, list(last), years, as_of) if years else {}
    for line in indicator_lines(doc):
        ahead = []
        for later in range(year + 1, last[line["indicator_id"]] + 1):
            found = traced.get((line["indicator_id"], later))
            if found is not None and found.target is not None:
                ahead.append(
                    {
                        "year": later,
                        "target": found.target,
                        "trace": {
                            "service": "goals",
                            "event_type": "IndicatorTargetSet",
                            "year": later,
                            "position": found.target_position,
                        },
                    }
                )
        line["targets_ahead"] = ahead


def comparisons_for(
    conn: Conn, indicator_ids: Sequence[str], years: Sequence[int], as_of: dt.datetime | None
) -> Comparisons:
    """The comparison municipalities' Kolada values of each Kolada indicator per year, as known
    at `as_of` (services/reports/comparisons.py); other indicators have none."""
    found: Comparisons = for_indicators(conn, indicator_ids, years, as_of)
    return found


def anchoring(conn: Conn, year: int, as_of: dt.datetime | None) -> dict[str, Any]:
    """The heads of the stores stated by the approval that closed the year (as known at
    `as_of`), with that approval's own place in reports' log; `closed` False when the year is
    not closed then (or was approved before the heads were stated: `chain_heads` null)."""
    stream_id = annual.annual_report_id(year)
    state = versions.get(conn, stream_id, as_of)
    if state is None or state["status"] != "approved":
        return {"closed": False, "chain_heads": None, "approval": None}
    approval = next(d for d in reversed(state["decisions"]) if d["kind"] == "approved")
    row = conn.execute(
        """SELECT position, hash, event_id::text, recorded_at FROM events
            WHERE stream_id = %s AND event_type LIKE 'AnnualReportApproved.%%'
              AND recorded_at <= coalesce(%s, now())
            ORDER BY version DESC LIMIT 1""",
        [stream_id, as_of],
    ).fetchone()
    return {
        "closed": True,
        "chain_heads": state.get("chain_heads"),
        "approval": {
            "decided_by": approval["decided_by"],
            "decided_on": approval["decided_on"],
            "minute_ref": approval["minute_ref"],
            "service": "reports",
            "position": row[0] if row else None,
            "hash": row[1] if row else None,
            "event_id": row[2] if row else None,
            "recorded_at": row[3].isoformat() if row else None,
        },
    }


def goals_of(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every goal entry of the document: strategic goals, each with its operational goals, and
    the goals placed nowhere."""
    for area in doc["development_areas"]:
        for goal in area["goals"]:
            yield goal
            yield from goal.get("operational_goals", ())
    yield from doc["unplaced_goals"]


def indicator_lines(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Each indicator line once (an operational goal under two strategic goals is one object)."""
    seen: set[int] = set()
    for goal in goals_of(doc):
        for line in goal["indicators"]:
            if id(line) not in seen:
                seen.add(id(line))
                yield line


# -- the HTML page ---------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("services.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = charts.number
    env.filters["trace_title"] = trace_title
    env.filters["day"] = day
    env.globals["SERVICE_LABELS"] = SERVICE_LABELS
    env.globals["STATUS_SYMBOLS"] = STATUS_SYMBOLS
    return env


_ENV: jinja2.Environment | None = None

#: status colour -> the shape beside its word, so no status is told by colour alone
STATUS_SYMBOLS = {"green": "●", "yellow": "▲", "red": "■", "no_data": "○"}


def environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def trace_title(trace: Mapping[str, Any] | None) -> str:
    """Where a number came from, in words: 'händelse 1234 i uppföljningen (ResultRecorded.v1,
    result-…, version 2)'."""
    if not trace or trace.get("position") is None:
        return "ingen händelse"
    where = SERVICE_LABELS.get(str(trace.get("service")), str(trace.get("service")))
    parts = [str(trace.get("event_type") or "")]
    if trace.get("result_id"):
        parts.append(str(trace["result_id"]))
    if trace.get("version") is not None:
        parts.append(f"version {trace['version']}")
    detail = ", ".join(p for p in parts if p)
    return f"händelse {trace['position']} i {where}" + (f" ({detail})" if detail else "")


def day(value: Any) -> str:
    """An instant or date as the municipality's calendar date."""
    if value is None:
        return charts.NONE
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(values.LOCAL_TIME_ZONE).date().isoformat()
    return str(value)


def panels_of(goal: Mapping[str, Any]) -> list[charts.Panel]:
    """The chart panels of a strategic goal: its own indicators and those of the operational
    goals derived from it, each once."""
    lines: dict[str, Mapping[str, Any]] = {}
    for entry in [goal, *goal.get("operational_goals", ())]:
        for line in entry["indicators"]:
            lines.setdefault(line["indicator_id"], line)
    return [panel_of(line) for line in lines.values()]


def panel_of(line: Mapping[str, Any]) -> charts.Panel:
    """An indicator's panel: outcomes over the goal's years up to the report's, targets on to
    the end of the mandate period."""
    series = line["series"]
    ahead = line.get("targets_ahead", [])
    found = line.get("comparisons") or {}
    kolada = line.get("source_kind") == "kolada"
    return charts.Panel(
        key=line["indicator_id"],
        name=line["name"],
        unit=line["unit_of_measure"],
        years=[p["year"] for p in series] + [p["year"] for p in ahead],
        values={p["year"]: p["value"] for p in series},
        targets={p["year"]: p["target"] for p in [*series, *ahead]},
        comparisons={int(y): v for y, v in found.items()} or None,
        sources={p["year"]: "Kolada" for p in series if kolada and p["value"] is not None},
    )


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the template needs beside the document: each strategic goal's chart and its data."""
    chart_of: dict[str, dict[str, Any]] = {}
    for area in doc["development_areas"]:
        for goal in area["goals"]:
            panels = panels_of(goal)
            if panels:
                chart_of[goal["goal_id"]] = {
                    "svg": charts.goal_chart(f"chart-{goal['goal_id']}", goal["title"], panels),
                    "matrix": charts.chart_matrix(panels),
                    "kolada": any(p.sources for p in panels),
                    "comparison_sources": sorted(
                        {
                            str(v.get("source"))
                            for p in panels
                            for v in (p.comparisons or {}).values()
                            if v.get("source")
                        }
                    ),
                }
    return {"doc": doc, "charts": chart_of}


def render_html(doc: Mapping[str, Any], *, for_print: bool = False) -> str:
    """The report as one self-contained HTML page (no script, no external resource)."""
    page = environment().get_template("annual_report.html")
    return page.render(**view(doc), for_print=for_print)


def render_pdf(doc: Mapping[str, Any]) -> bytes:
    """The report as a PDF: the HTML laid out for A4 by WeasyPrint, bookmarks from the headings
    and page numbers in the table of contents."""
    import weasyprint  # imported here: its native libraries load only when a PDF is asked for

    html = render_html(doc, for_print=True)
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=no_fetching()).write_pdf()
    return pdf


# -- the PDF of a state, kept -------------------------------------------------------------------


class PdfCache:
    """The last PDFs made, by the state they show (`state_key`): laying out a municipality's
    report takes WeasyPrint half a minute (bench/annual.py), and the approved year's report is
    downloaded again and again while nothing changes. Per process, a few entries."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}

    def made(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The PDF of `key`, made by `make` unless kept; one at a time per key, so a download
        asked while the approval's warm-up (Warmer) lays the same state out waits for it
        instead of laying it out a second time on the same two cores."""
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:
            found = self.get(key)
            if found is None:
                found = make()
                self.put(key, found)
        with self._lock:
            self._making.pop(key, None)
        return found

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, pdf: bytes) -> None:
        with self._lock:
            self._items[key] = pdf
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


PDFS = PdfCache()


def state_key(conn: Conn, kind: Kind, year: int, as_of: dt.datetime | None) -> Hashable:
    """What a report's content depends on, read in the caller's snapshot: the report asked for,
    the database, the hash at the head of reports' own log (any event of its own changes it)
    and the versions of every stream it has consumed (each applied event of goals or plans
    raises their sum, in whatever order the partitions deliver them; a rebuild of the consumed
    read models ends at the same sum)."""
    row = conn.execute(
        """SELECT current_database(),
                  (SELECT hash FROM events ORDER BY position DESC LIMIT 1),
                  (SELECT coalesce(sum(version), 0) FROM consumed_streams),
                  (SELECT count(*) FROM consumed_streams)"""
    ).fetchone()
    assert row is not None
    return (kind, year, as_of.isoformat() if as_of else None, *row)


def no_fetching() -> Any:
    """The page is self-contained: a URL in it is refused and stops the PDF (a bug, never a
    fetch from the server)."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=(), fail_on_errors=True)
