"""The annual and interim report as documents over HTTP (services/reports/api_documents.py): the
JSON, the HTML page and the PDF of a seeded year (the follow-up of
test_annual_report_composition.py: results, one corrected, assessments, an approved quality
report), on the real PostgreSQL. Counts per status, every goal and indicator, a chart with the
target line and a text alternative per strategic goal, numbers that name events holding exactly
those numbers, the chain heads the council's approval states, and the interim report as of an
instant before a correction."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from pypdf import PdfReader

from services.goals.seed import INDICATORS, OPERATIONAL, STRATEGIC, seed_id
from services.reports import api_documents, documents, handlers
from services.reports.app import create_app
from services.reports.domain import result
from shared import values
from shared.runtime import Runtime
from shared.witness import check_anchor, parse_anchors
from tests.integration import test_annual_report_composition as composition
from tests.support import ADMIN, READER, SignedClient, connect

recorded = composition.recorded  # the seeded year's follow-up (a fixture)
YEAR = composition.YEAR
GOAL = composition.GOAL
KF = composition.COUNCIL
ELIGIBLE = composition.ELIGIBLE
NUMBER = re.compile(
    r'data-service="(?P<service>\w+)" data-position="(?P<position>\d+)" '
    r'data-field="(?P<field>\w+)" data-value="(?P<value>[^"]+)"'
)


@pytest.fixture
def app(reports: Runtime, recorded: dict[str, Any]) -> Any:
    # an approval lays its PDF out in the background: none runs into another test's cache
    api_documents.WARMER.settle()
    yield create_app(reports.config, reports)
    api_documents.WARMER.settle()


def get(app: Any, path: str, **headers: str) -> Any:
    return SignedClient(app, READER).get(path, headers=headers)


#: the seeded indicators whose source is Kolada
KOLADA_INDICATORS = {key for key, *rest in INDICATORS if getattr(rest[4], "kind", "") == "kolada"}


def test_the_annual_report_as_json_counts_and_lists_every_goal_and_indicator(app: Any) -> None:
    answer = get(app, f"/api/v1/annual-reports/{YEAR}")
    assert answer.status_code == 200, answer.get_json()
    assert answer.mimetype == "application/json" and answer.headers["Vary"] == "Accept"
    doc = answer.get_json()
    assert doc["kind"] == "annual" and doc["year"] == YEAR
    assert doc["summary"]["assessed"] == {
        "met": 2,
        "partly_met": 1,
        "not_met": 1,
        "cannot_be_assessed": 1,
        "not_assessed": 3,
    }
    assert doc["summary"]["text"].startswith("2 av 8 mål uppfyllda, 1 delvis uppfyllt")
    shown = {g["goal_id"] for _, g in composition.goals_in(doc)}
    assert shown == set(GOAL.values())
    assert KOLADA_INDICATORS, "the seed has Kolada indicators"
    for key, *_ in INDICATORS:
        line = composition.indicator(doc, seed_id("indicator-", key))
        if key not in KOLADA_INDICATORS:
            assert line["comparisons"] is None, key
            continue
        # a Kolada indicator names its comparison municipalities; none imported: no values
        for year in line["comparisons"].values():
            assert year["mean"] is None and year["label"] == "Källa: Kolada"
            assert [c["name"] for c in year["comparisons"]] == [
                "Lidköping",
                "Skara",
                "Mariestad",
                "Vara",
            ]
            assert all(c["value"] is None for c in year["comparisons"])
    assert doc["anchoring"] == {"closed": False, "chain_heads": None, "approval": None}


def test_the_html_page_has_charts_with_targets_and_numbers_that_trace_to_events(
    app: Any, goals: Runtime, reports: Runtime
) -> None:
    by_query = get(app, f"/api/v1/annual-reports/{YEAR}?format=html")
    by_accept = get(app, f"/api/v1/annual-reports/{YEAR}", Accept="text/html")
    assert by_query.status_code == by_accept.status_code == 200
    assert by_query.mimetype == by_accept.mimetype == "text/html"
    page = by_query.get_data(as_text=True)
    assert "<title>Årsredovisning 2025 — Målavstämning</title>" in page
    assert "http://" not in page and "https://" not in page, "self-contained"
    assert "<script" not in page.lower()
    assert '<html lang="sv">' in page and "@media print" in page
    assert "2 av 8 mål uppfyllda, 1 delvis uppfyllt, 1 ej uppfyllt" in page
    for key, *_, title, _ in STRATEGIC:
        assert title in page, key
    for key, _, title, _ in OPERATIONAL:
        assert title in page, key
    for _, _, name, *_ in INDICATORS:
        assert name in page
    # a chart per strategic goal with indicators (its own or its operational goals'): an image
    # with title, description, a dashed target line, and its values as a table
    doc = get(app, f"/api/v1/annual-reports/{YEAR}").get_json()
    charted = 0
    for area in doc["development_areas"]:
        for goal in area["goals"]:
            tree = [goal, *goal["operational_goals"]]
            chart = re.search(
                rf'<svg class="goal-chart" id="chart-{goal["goal_id"]}".*?</svg>', page, re.S
            )
            if not any(g["indicators"] for g in tree):
                assert chart is None
                continue
            charted += 1
            assert chart is not None, goal["title"]
            svg = chart.group(0)
            assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
            assert re.search(r'class="target-line"[^>]*stroke-dasharray', svg), goal["title"]
            assert "Utfall" in svg and "Målvärde" in svg
            assert f"Diagrammets värden: {goal['title']}" in page
    assert charted == 2  # s-trygg (school, elderly, NMI) and s-klimat (energy)
    assert "Källa: Kolada" in page, "the school's eligibility comes from Kolada"

    numbers = [m.groupdict() for m in NUMBER.finditer(page)]
    assert {n["service"] for n in numbers} == {"reports", "goals"}
    # the four outcomes of the year, the school's split by gender and its target (the others'
    # only target is 2026's: charted, not on the year's line)
    assert len(numbers) == 7, numbers
    stores = {"reports": reports, "goals": goals}
    for n in numbers:
        with connect(stores[n["service"]]) as conn:
            row = conn.execute(
                "SELECT event_type, data->%s FROM events WHERE position = %s",
                [n["field"], int(n["position"])],
            ).fetchone()
        assert row is not None, n
        assert row[0].split(".")[0] in {
            "ResultRecorded",
            "ResultCorrected",
            "IndicatorTargetSet",
        }, (n, row)
        assert float(row[1]) == float(n["value"]), (n, row)
    # the corrected eligibility shows its correction, not the first value
    assert any(n["value"] == "89.0" and n["service"] == "reports" for n in numbers)
    assert not any(n["value"] == "86.5" for n in numbers)


def test_the_councils_approval_states_the_heads_the_report_then_shows(
    app: Any, goals: Runtime, reports: Runtime
) -> None:
    approved = SignedClient(app, ADMIN).post(
        f"/api/v1/annual-reports/{YEAR}/approve",
        {"decided_by": KF, "decided_on": values.today().isoformat(), "minute_ref": "KF §45"},
    )
    assert approved.status_code == 200, approved.get_json()
    with connect(reports) as conn:
        position, prev_hash, data = conn.execute(
            """SELECT position, prev_hash, data FROM events
                WHERE event_type = 'AnnualReportApproved.v2'"""
        ).fetchone()
        before = conn.execute(
            "SELECT position, hash FROM events WHERE position = %s", [position - 1]
        ).fetchone()
    with connect(goals) as conn:
        goals_head = conn.execute(
            "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
        ).fetchone()
    heads = {
        "reports": {"position": before[0], "hash": before[1]},
        "goals": {"position": goals_head[0], "hash": goals_head[1]},
        "plans": {"position": 0, "hash": "0" * 64},
    }
    assert before[1] == prev_hash, "the approval's own predecessor is the head it states"
    assert data["chain_heads"] == heads

    doc = get(app, f"/api/v1/annual-reports/{YEAR}").get_json()
    assert doc["anchoring"]["closed"] is True
    assert doc["anchoring"]["chain_heads"] == heads
    assert doc["anchoring"]["approval"]["position"] == position
    assert doc["anchoring"]["approval"]["minute_ref"] == "KF §45"
    page = get(app, f"/api/v1/annual-reports/{YEAR}?format=html").get_data(as_text=True)
    assert "Förankring i händelsehistoriken" in page
    for source, head in heads.items():
        line = f"styrkort-anchor service={source} position={head['position']} hash={head['hash']}"
        assert line in page, "a line `verify --anchor` reads"
    anchors = {a.service: a for a in parse_anchors(page)}
    assert set(anchors) == {"reports", "goals", "plans"}
    for service, runtime in (("reports", reports), ("goals", goals)):
        with connect(runtime) as conn:
            checked = check_anchor(conn, anchors[service], service)
        assert checked["ok"], checked
    assert f"Beslutet är händelse {position} i uppföljningens logg" in page


def test_the_councils_approval_lays_the_years_pdf_out_ahead(app: Any, reports: Runtime) -> None:
    documents.PDFS.clear()
    approved = SignedClient(app, ADMIN).post(
        f"/api/v1/annual-reports/{YEAR}/approve",
        {"decided_by": KF, "decided_on": values.today().isoformat(), "minute_ref": "KF §46"},
    )
    assert approved.status_code == 200, approved.get_json()
    api_documents.WARMER.settle()
    with connect(reports) as conn:
        key = documents.state_key(conn, "annual", YEAR, None)
    warmed = documents.PDFS.get(key)
    assert warmed is not None and warmed.startswith(b"%PDF-"), "laid out before it is asked"
    # the first download is that PDF, of the approved year, and lays nothing out again
    answer = get(app, f"/api/v1/annual-reports/{YEAR}?format=pdf")
    assert answer.status_code == 200 and answer.get_data() == warmed
    assert len(documents.PDFS) == 1
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(warmed)).pages)
    assert "KF §46" in text and "Året är avslutat" in text.replace("\n", " ")


def test_a_refused_approval_lays_nothing_out(app: Any) -> None:
    documents.PDFS.clear()
    refused = SignedClient(app, ADMIN).post(
        f"/api/v1/annual-reports/{YEAR}/approve", {"decided_by": KF, "minute_ref": "KF §47"}
    )
    assert refused.status_code == 422, refused.get_json()
    api_documents.WARMER.settle()
    assert len(documents.PDFS) == 0


def test_reports_as_of_an_instant_before_a_correction_show_the_value_then(
    app: Any, reports: Runtime, recorded: dict[str, Any]
) -> None:
    before = recorded["before_correction"].isoformat()
    annual = get(app, f"/api/v1/annual-reports/{YEAR}?" + urlencode({"as_of": before}))
    assert annual.status_code == 200, annual.get_json()
    assert composition.indicator(annual.get_json(), ELIGIBLE)["result"]["value"] == 86.5

    # the interim report of this year, as of an instant between an interim value and its
    # correction, then now
    this_year = values.today().year
    day = f"{this_year}-01-31"
    made = handlers.record_result(
        reports.uow(), composition.META, indicator_id=ELIGIBLE, period=day, value=87.0
    )
    moment = composition.pause()
    handlers.correct_result(
        reports.uow(), composition.META, made.id, None, value=90.5, reason="rättat"
    )
    time.sleep(0.01)
    then = get(
        app, f"/api/v1/interim-reports/{this_year}?" + urlencode({"as_of": moment.isoformat()})
    )
    assert then.status_code == 200, then.get_json()
    interim = then.get_json()
    assert interim["kind"] == "interim" and interim["title"].startswith("Målavstämning, delår")
    line = composition.indicator(interim, ELIGIBLE)
    assert (line["result"]["value"], line["result"]["period"]) == (87.0, day)
    now = dt.datetime.now(dt.UTC).isoformat()
    later = get(app, f"/api/v1/interim-reports/{this_year}?" + urlencode({"as_of": now}))
    assert composition.indicator(later.get_json(), ELIGIBLE)["result"]["value"] == 90.5
    page = get(
        app,
        f"/api/v1/interim-reports/{this_year}?"
        + urlencode({"as_of": moment.isoformat(), "format": "html"}),
    ).get_data(as_text=True)
    assert f"Delårsrapport {this_year} per" in page and 'data-value="87.0"' in page


def test_bad_years_and_instants_are_refused_naming_the_field(app: Any) -> None:
    for path, field in [
        (f"/api/v1/interim-reports/{YEAR}", "as_of"),
        (f"/api/v1/interim-reports/{YEAR}?as_of=2024-12-31", "as_of"),
        (f"/api/v1/interim-reports/{YEAR}?as_of=2025-13-01", "as_of"),
        ("/api/v1/annual-reports/1066", "year"),
        ("/api/v1/interim-reports/9999?as_of=2025-06-30", "year"),
        (f"/api/v1/annual-reports/{YEAR}?format=docx", "format"),
        (f"/api/v1/annual-reports/{YEAR}?as_of=yesterday", "as_of"),
    ]:
        refused = get(app, path)
        assert refused.status_code == 422, (path, refused.get_data(as_text=True))
        assert refused.mimetype == "application/problem+json"
        assert field in refused.get_json()["errors"], (path, refused.get_json())


def flat(outline: list[Any]) -> list[Any]:
    """The bookmarks of a PDF outline, nested ones in order after their parent."""
    return [b for item in outline for b in (flat(item) if isinstance(item, list) else [item])]


def test_the_pdf_opens_and_has_pages_a_table_of_contents_and_bookmarks(
    app: Any, reports: Runtime
) -> None:
    answer = get(app, f"/api/v1/annual-reports/{YEAR}", Accept="application/pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    body = answer.get_data()
    assert body.startswith(b"%PDF-")
    pdf = PdfReader(io.BytesIO(body))
    assert len(pdf.pages) > 1
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Innehåll" in text and "Förankring i händelsehistoriken" in text
    # in print each indicator is a paragraph with target, outcome, gender split and its trace
    flowing = text.replace("\n", " ")
    assert re.search(r"Målvärde \S+ · Utfall \S+ \(kvinnor \S+, män \S+\) · Trend", flowing)
    assert re.search(r"u#\d+\s+v\d+, m#\d+", flowing), "every printed number names its event"
    for _, _, title, _ in STRATEGIC:
        assert title in text.replace("\n", " ") or title[:30] in text
    first = pdf.pages[0].extract_text() + pdf.pages[1].extract_text()
    assert re.search(r"Sammanfattning\s*\.*\s*\d+", first), "the contents give page numbers"
    # the same state gives the same PDF again, kept; a new event makes a new one
    kept = len(documents.PDFS)
    again = get(app, f"/api/v1/annual-reports/{YEAR}?format=pdf")
    assert again.get_data() == body and len(documents.PDFS) == kept
    nmi_2025 = result.result_id_for(composition.NMI, str(YEAR))
    handlers.correct_result(
        reports.uow(), composition.META, nmi_2025, None, value=59.5, reason="omräknat"
    )
    changed = get(app, f"/api/v1/annual-reports/{YEAR}?format=pdf").get_data()
    assert changed != body and len(documents.PDFS) == min(kept + 1, documents.PDFS.size)
    assert "59,5" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(changed)).pages)
    titles = [item.title for item in flat(pdf.outline)]
    assert titles[0] == "Årsredovisning 2025 — Målavstämning"
    assert "Sammanfattning" in titles and "Förankring i händelsehistoriken" in titles


def test_in_print_each_chart_is_an_image_of_the_same_svg_with_its_description(
    app: Any, reports: Runtime
) -> None:
    """The PDF's page draws each chart from a data URL (WeasyPrint lays inline SVG out as HTML,
    element by element): the same drawing as on the page, described in `alt`, and no inline
    SVG; the indicators are paragraphs of plain text with their trace."""
    with connect(reports) as conn:
        doc = documents.compose(conn, "annual", YEAR, None)
    page, printed = documents.render_html(doc), documents.render_html(doc, for_print=True)
    assert "<svg" not in printed and '<p class="ip">' in printed
    images = re.findall(
        r'<img class="goal-chart" src="data:image/svg\+xml;base64,([^"]+)"[^>]*>', printed
    )
    inline = re.findall(r'<svg class="goal-chart".*?</svg>', page, re.S)
    assert len(images) == len(inline) == 2
    for data, svg in zip(images, inline, strict=True):
        drawn = base64.b64decode(data).decode()
        # the same lines, marks and words (the labels placed by width, not text-anchor)
        for part in (r"<(?:polyline|path) [^>]*>", r">([^<]*)</text>", r'data-indicator="[^"]*"'):
            assert re.findall(part, drawn) == re.findall(part, svg)
        assert "text-anchor" not in drawn
        assert re.search(r'class="target-line"[^>]*stroke-dasharray', drawn)
    for area in doc["development_areas"]:
        for goal in area["goals"]:
            if any(g["indicators"] for g in [goal, *goal["operational_goals"]]):
                assert f'alt="Diagram över {goal["title"]}: utfall' in printed, goal["title"]
    assert "u#" in printed and 'class="n"' not in printed, "in print a trace, not a tooltip"


def test_the_three_forms_are_in_the_openapi_document(app: Any) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/annual-reports/{year}", "/api/v1/interim-reports/{year}"):
        operation = spec["paths"][path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {
            "application/json",
            "text/html",
            "application/pdf",
        }, path
        parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert parameters["format"]["schema"]["enum"] == ["json", "html", "pdf"]
        assert parameters["as_of"]["required"] is (path.startswith("/api/v1/interim"))
        json_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert json_schema == {"$ref": "#/components/schemas/ReportDocument"}
    assert "anchoring" in spec["components"]["schemas"]["ReportDocument"]["properties"]
    # the approval routes of the same prefix are still there beside the document
    assert "/api/v1/annual-reports/{year}/approve" in spec["paths"]


def test_comparisons_given_to_the_composition_reach_the_chart_and_its_table(
    reports: Runtime, recorded: dict[str, Any]
) -> None:
    compared = {
        ELIGIBLE: {
            2024: {
                "comparisons": [{"code": "1490", "name": "Borås", "value": 80.0}],
                "mean": 82.5,
                "source": "Kolada",
            }
        }
    }
    with connect(reports) as conn:
        doc = documents.compose(conn, "annual", YEAR, None, comparisons=compared)
    line = composition.indicator(doc, ELIGIBLE)
    assert line["comparisons"] == {"2024": compared[ELIGIBLE][2024]}
    assert composition.indicator(doc, composition.SAFE)["comparisons"] is None
    page = documents.render_html(doc)
    assert 'class="comparison-mean"' in page and 'class="comparison"' in page
    assert "Jämförelser: Kolada." in page and "jmf 82,5" in page
    assert "Medelvärde, jämförelsekommuner" in page


def test_a_year_with_nothing_known_still_gives_all_three_forms(
    make_runtime: Callable[..., Runtime],
) -> None:
    empty = make_runtime("reports")
    app = create_app(empty.config, empty)
    doc = get(app, "/api/v1/annual-reports/2024").get_json()
    assert doc["summary"]["goals"] == 0 and doc["development_areas"] == []
    assert doc["summary"]["text"] == "0 av 0 mål uppfyllda."
    page = get(app, "/api/v1/annual-reports/2024?format=html")
    assert page.status_code == 200 and "Årsredovisningen för 2024 är inte godkänd" in page.get_data(
        as_text=True
    )
    pdf = get(app, "/api/v1/interim-reports/2024?as_of=2024-08-31&format=pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF-")
