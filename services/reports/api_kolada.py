"""HTTP routes of the Kolada import and of comparisons (issue 10). Källa: Kolada.

- `GET /api/v1/indicators/<indicator_id>/comparisons?year=&as_of=`: the municipality's value
  beside the comparison municipalities' and their mean (services/reports/comparisons.py);
- `POST /api/v1/imports/kolada` (an administrator; body optional `years`, `from_date`): starts
  an import job, 202 with its status resource in Location (409 while another one runs);
- `GET /api/v1/imports/kolada/<job_id>`: queued, running, done or failed, with the counts.

The import always reads Kolada at the configured KOLADA_BASE_URL: no request names a URL.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from services.reports import comparisons, known, kolada_jobs
from services.reports.domain import calendar
from shared import values
from shared.errors import Forbidden, NotFound
from shared.http import Blueprint, current_identity, require_role
from shared.openapi import MAY_REFUSE
from shared.runtime import Runtime
from shared.schemas import AsOfQuery, Year

Body = dict[str, Any]


class ComparisonsQuery(AsOfQuery):
    year = fields.Str(
        validate=validate.Length(min=4, max=4),
        metadata={
            "description": "a calendar year of four digits, e.g. 2024; default the last "
            f"{kolada_jobs.DEFAULT_YEARS} finished years"
        },
    )


class ComparisonsSchema(Schema):
    indicator_id = fields.Str()
    name = fields.Str()
    kpi = fields.Str(allow_none=True)
    comparable = fields.Bool(
        metadata={"description": "false for an indicator whose source is not Kolada"}
    )
    reason = fields.Str(allow_none=True, metadata={"description": "why nothing is compared"})
    source = fields.Str(metadata={"description": "Kolada"})
    label = fields.Str(metadata={"description": "Källa: Kolada"})
    as_of = fields.Str(allow_none=True)
    years = fields.List(
        fields.Dict(),
        metadata={
            "description": "per year: municipality {code, value, women, men}, comparisons "
            "[{code, name, value, women, men, position, event_id}], mean (of the comparison "
            "values that have data, or null)"
        },
    )


class StartImportSchema(Schema):
    years = fields.List(
        Year(),
        validate=validate.Length(min=1, max=kolada_jobs.MAX_YEARS),
        metadata={
            "description": f"1 to {kolada_jobs.MAX_YEARS} calendar years; default the last "
            f"{kolada_jobs.DEFAULT_YEARS} finished years"
        },
    )
    #: text parsed strictly (calendar.parse_date): marshmallow's Date also reads "20240101"
    #: and "2024-W01-1" as dates
    from_date = fields.Str(
        validate=validate.Length(min=1, max=40),
        metadata={
            "format": "date",
            "description": "only values Kolada changed on or after this date (YYYY-MM-DD)",
        },
    )


class ImportJobSchema(Schema):
    id = fields.Str()
    state = fields.Str(metadata={"description": "queued, running, done or failed"})
    requested_by = fields.Str()
    years = fields.List(fields.Int())
    from_date = fields.Date(allow_none=True)
    fetched = fields.Int(metadata={"description": "observations read from Kolada"})
    new = fields.Int(metadata={"description": "values recorded (results and comparisons)"})
    corrected = fields.Int(metadata={"description": "values Kolada revised"})
    unchanged = fields.Int(metadata={"description": "values as known: no event"})
    withdrawn = fields.Int(metadata={"description": "values Kolada deleted"})
    no_data = fields.Int(metadata={"description": "null values, never recorded"})
    refused = fields.Int(metadata={"description": "changes refused, e.g. to a closed year"})
    results = fields.Dict(allow_none=True, metadata={"description": "the municipality's"})
    comparisons = fields.Dict(
        allow_none=True, metadata={"description": "the comparison municipalities'"}
    )
    refusals = fields.List(fields.Dict())
    correlation_id = fields.Str(allow_none=True)
    source = fields.Str(metadata={"description": "Kolada"})
    error = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


def require_admin(what: str) -> str:
    """Only an administrator: a 403 naming the caller's scope and the rule otherwise."""
    who = current_identity()
    if who.role != "admin":
        raise Forbidden(
            f"role {who.role!r} may not {what}; it needs admin",
            scope=who.scope,
            rule=f"only an administrator may {what}",
        )
    return who.actor


def comparisons_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "comparisons",
        __name__,
        url_prefix="/api/v1/indicators",
        description="A Kolada indicator's value beside the comparison municipalities' "
        "(Källa: Kolada)",
    )

    @blp.route("/<indicator_id>/comparisons")
    class Comparisons(MethodView):
        @blp.arguments(ComparisonsQuery, location="query")
        @blp.response(200, ComparisonsSchema)
        def get(self, query: Body, indicator_id: str) -> Body:
            """For each year: the municipality's value, the comparison municipalities' and
            their mean, as known `as_of` an instant (a revised value as it was then, a
            withdrawn one as no data)."""
            years = (
                [values.year(query["year"], "year")]
                if "year" in query
                else kolada_jobs.default_years()
            )
            as_of = query.get("as_of")
            config = runtime.config
            with runtime.pool.connection() as conn:
                row = known.indicator(conn, indicator_id)
                if row is None:
                    raise NotFound(f"no indicator {indicator_id} is known here")
                found = comparisons.for_indicators(
                    conn,
                    [indicator_id],
                    years,
                    as_of,
                    municipality=config.kolada_municipality,
                    comparisons=config.kolada_comparisons,
                ).get(indicator_id)
            view: Body = {
                "indicator_id": indicator_id,
                "name": row.name,
                "kpi": row.kpi_id,
                "source": comparisons.SOURCE_LABEL,
                "label": comparisons.LABEL,
                "as_of": as_of.isoformat() if as_of else None,
            }
            if found is None:
                return {
                    **view,
                    "comparable": False,
                    "reason": f"the indicator's source is {row.source_kind}, not Kolada "
                    "(with a KPI): there are no comparison municipalities' values",
                    "years": [],
                }
            return {
                **view,
                "comparable": True,
                "reason": None,
                "years": [{"year": year, **found[year]} for year in years],
            }

    return blp


def imports_blueprint(runtime: Runtime) -> Blueprint:
    blp = Blueprint(
        "imports",
        __name__,
        url_prefix="/api/v1/imports",
        description="Imports of Kolada's values as jobs (Källa: Kolada)",
    )

    @blp.route("/kolada")
    class StartImport(MethodView):
        @blp.arguments(StartImportSchema)
        @blp.response(202, ImportJobSchema)
        def post(self, body: Body) -> tuple[Body, int, dict[str, str]]:
            """Start an import of Kolada's values (the municipality's results and the
            comparison municipalities' values) from the configured Kolada: a job, answered at
            once with its status resource (Location). Re-running is safe: unchanged values
            record nothing, so an interrupted import is finished by starting it again."""
            actor = require_admin("start a Kolada import")
            years = sorted({values.year(y, "years") for y in body.get("years", [])})
            years = years or kolada_jobs.default_years()
            raw_date = body.get("from_date")
            from_date = None if raw_date is None else calendar.parse_date(raw_date, "from_date")
            job_id = kolada_jobs.create_job(runtime, actor, years, from_date)
            kolada_jobs.start_job_thread(runtime, job_id, years, from_date)
            job = kolada_jobs.get_job(runtime, job_id)
            assert job is not None
            return job, 202, {"Location": f"/api/v1/imports/kolada/{job_id}"}

    @blp.route("/kolada/<job_id>")
    class ImportStatus(MethodView):
        @blp.doc(**MAY_REFUSE)
        @blp.response(200, ImportJobSchema)
        def get(self, job_id: str) -> Body:
            """An import job: queued, running, done or failed; fetched, new, corrected,
            unchanged, withdrawn so far (results and comparison values, then per kind)."""
            require_role("auditor")
            job = kolada_jobs.get_job(runtime, job_id)
            if job is None:
                raise NotFound(f"no Kolada import job {job_id}")
            return job

    return blp
