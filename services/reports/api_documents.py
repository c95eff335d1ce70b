"""HTTP routes of the annual report (årsredovisning) and interim report (delårsrapport) as
documents: `GET /api/v1/annual-reports/<year>` and `GET /api/v1/interim-reports/<year>?as_of=`.

One document, three forms, chosen by `?format=json|html|pdf` or else by the Accept header
(`text/html`, `application/pdf`; anything else, or none, is JSON): the explicit parameter makes
a link that always gives the same form, the header lets a browser get the page. Reads: any
signed caller may read them.

An interim report is always as of a date ("delårsrapport per 2025-08-31"), so `as_of` is
required there and must lie in the report's year (in the municipality's time zone); a date
means the end of that day. An annual report is as of now unless `as_of` is given.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Response, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from services.reports import documents
from shared import values
from shared.errors import InvalidInput
from shared.http import Blueprint
from shared.resources import Body
from shared.runtime import Runtime
from shared.schemas import AsOf, AsOfQuery

LOG = logging.getLogger(__name__)

#: the route whose 200 closes a year (services/reports/api.py), after which its PDF is laid out
APPROVAL_ENDPOINT = "annual-reports.Approve"

#: the forms of the document and their media types, JSON first (the default)
FORMATS = {"json": "application/json", "html": "text/html", "pdf": "application/pdf"}

FORMAT_FIELD = fields.Str(
    validate=validate.OneOf(list(FORMATS)),
    metadata={
        "description": "json, html (a readable page, Swedish, with charts; no script) or pdf "
        "(the same page for print, with a table of contents); default by the Accept header, "
        "else json"
    },
)


class AnnualDocumentQuery(AsOfQuery):
    format = FORMAT_FIELD


class InterimDocumentQuery(Schema):
    as_of = AsOf(
        required=True,
        metadata={
            "description": "the date of the interim report (its end) or an instant with a time "
            "zone, within the report's year: the report shows what was known then",
            "type": "string",
        },
    )
    format = FORMAT_FIELD


class ReportDocumentSchema(Schema):
    kind = fields.Str(metadata={"description": "annual or interim"})
    title = fields.Str()
    year = fields.Int()
    as_of = fields.Str(allow_none=True)
    organisation = fields.Dict()
    year_status = fields.Dict(metadata={"description": "whether the year was closed then"})
    rules = fields.Dict(metadata={"description": "the status rules that applied"})
    summary = fields.Dict(
        metadata={
            "description": "counts of goals per assessment and per computed colour, in "
            "words ('2 av 8 mål uppfyllda, …') and the overall verdict"
        }
    )
    legend = fields.Dict()
    development_areas = fields.List(
        fields.Dict(),
        metadata={
            "description": "per development area its strategic goals, each with its operational "
            "goals; every goal with status, assessment, quality reports and indicators (target, "
            "outcome with gender split, trend, series over the years, comparisons, and the "
            "events each number came from)"
        },
    )
    unplaced_goals = fields.List(fields.Dict())
    anchoring = fields.Dict(
        metadata={
            "description": "the head (position, hash) of every store stated by the council's "
            "approval of the year, and the approval's own place in reports' log"
        }
    )


#: the three forms of the 200 (the doc replaces the content flask-smorest writes from the
#: schema, so the JSON one is named again)
OTHER_FORMS = {
    "200": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ReportDocument"}},
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


def chosen_format(query: Body) -> str:
    if query.get("format"):
        return str(query["format"])
    best = request.accept_mimetypes.best_match(list(FORMATS.values()), default=FORMATS["json"])
    return next(name for name, mime in FORMATS.items() if mime == best)


def answer(
    runtime: Runtime, kind: documents.Kind, year: int, as_of: dt.datetime | None, form: str
) -> Any:
    """The document in the chosen form; the answer varies with Accept. The state is read in one
    snapshot; a PDF of the same state is given again from documents.PDFS.

    A PDF not kept is laid out in the request (a municipality's takes WeasyPrint about 16 s of CPU,
    bench/annual.py). That does not get the worker killed: gunicorn's gthread workers
    (infra/gunicorn_conf.py) serve requests in threads while the worker's main loop keeps
    telling the arbiter it lives, so `timeout` (30 s) bounds a hung worker, not a long request;
    the other threads keep serving meanwhile. The approved year's PDF is laid out ahead
    (Warmer), so its downloads rarely wait."""
    headers = {"Vary": "Accept"}
    with runtime.pool.connection() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        key = documents.state_key(conn, kind, year, as_of) if form == "pdf" else None
        kept = documents.PDFS.get(key) if key is not None else None
        doc = documents.compose(conn, kind, year, as_of) if kept is None else None
    if form == "pdf":
        name = f"arsredovisning-{year}" if kind == "annual" else f"delarsrapport-{day(as_of)}"
        headers["Content-Disposition"] = f'inline; filename="{name}.pdf"'
        if kept is None:
            assert doc is not None
            kept = documents.PDFS.made(key, lambda: documents.render_pdf(doc))
        return Response(kept, mimetype="application/pdf", headers=headers)
    assert doc is not None
    if form == "html":
        return Response(documents.render_html(doc), mimetype="text/html", headers=headers)
    return doc, 200, headers


class Warmer:
    """Lays out the PDF of a year the council has just approved, in the background: the year is
    then closed, its report is what gets downloaded again and again, and the first download
    should not wait for the layout (a municipality's takes WeasyPrint about 16 s of CPU, more
    wall time when the cores are shared, bench/annual.py). One at a time (the machine has two
    cores, and requests need one), in the order asked; the PDF lands in documents.PDFS under
    the state it shows, so a download of that state takes it, or waits for the layout under
    way (PdfCache.made). A failure is logged: the download then lays the PDF out itself."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-warmer")

    def warm(self, runtime: Runtime, year: int) -> Future[None]:
        return self._pool.submit(self._lay_out, runtime, year)

    def settle(self) -> None:
        """Wait until every warm-up asked for so far is done (tests: a clean cache)."""
        self._pool.submit(lambda: None).result()

    @staticmethod
    def _lay_out(runtime: Runtime, year: int) -> None:
        try:
            with runtime.pool.connection() as conn:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                key = documents.state_key(conn, "annual", year, None)
                doc = (
                    None
                    if documents.PDFS.get(key)
                    else documents.compose(conn, "annual", year, None)
                )
            if doc is not None:
                documents.PDFS.made(key, lambda: documents.render_pdf(doc))
        except Exception:
            LOG.exception("laying out the approved annual report of %s ahead failed", year)


WARMER = Warmer()


def warm_after_approval(runtime: Runtime, response: Response) -> Response:
    """After the council's approval of a year (a 200 of `POST /annual-reports/<year>/approve`),
    lay its annual report's PDF out ahead (Warmer)."""
    if request.endpoint == APPROVAL_ENDPOINT and response.status_code == 200:
        year = (request.view_args or {}).get("year")
        if isinstance(year, int):
            WARMER.warm(runtime, year)
    return response


def day(as_of: dt.datetime | None) -> str:
    moment = as_of or dt.datetime.now(dt.UTC)
    return moment.astimezone(values.LOCAL_TIME_ZONE).date().isoformat()


def interim_instant(year: int, as_of: dt.datetime) -> dt.datetime:
    """The instant of an interim report of `year`: within that year, in local time."""
    local = as_of.astimezone(values.LOCAL_TIME_ZONE)
    if local.year != year:
        raise InvalidInput(
            f"an interim report of {year} is as of a date in {year}, not {local.date()}",
            {"as_of": [f"not in {year}"]},
        )
    return as_of


def documents_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "report-documents",
        __name__,
        url_prefix="/api/v1",
        description="The annual report's and the interim report's goal follow-up "
        "(målavstämning) as JSON, an HTML page with charts, or a PDF",
    )

    blp.after_app_request(lambda response: warm_after_approval(runtime, response))

    @blp.route("/annual-reports/<int:year>")
    class AnnualDocument(MethodView):
        @blp.arguments(AnnualDocumentQuery, location="query")
        @blp.response(200, ReportDocumentSchema)
        @blp.doc(responses=OTHER_FORMS)
        def get(self, query: Body, year: int) -> Any:
            """The annual report's målavstämning of a year: counts per status, each goal and
            indicator with its target, outcome, trend and analysis, charts, and the chain heads
            stated by the council's approval; as known `as_of` an instant (default now)."""
            the_year = values.year(year, "year")
            return answer(runtime, "annual", the_year, query.get("as_of"), chosen_format(query))

    @blp.route("/interim-reports/<int:year>")
    class InterimDocument(MethodView):
        @blp.arguments(InterimDocumentQuery, location="query")
        @blp.response(200, ReportDocumentSchema)
        @blp.doc(responses=OTHER_FORMS)
        def get(self, query: Body, year: int) -> Any:
            """The interim report's målavstämning of a year as of a date in it: what was
            known then (results, targets, assessments, quality reports)."""
            the_year = values.year(year, "year")
            as_of = interim_instant(the_year, query["as_of"])
            return answer(runtime, "interim", the_year, as_of, chosen_format(query))

    return blp
