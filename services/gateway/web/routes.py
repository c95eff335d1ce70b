"""The web pages' routes: thin, each parses its query (hostile input is a friendly 400 page),
gathers its data (public.py, review.py) and renders its template."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from services.gateway.upstream import ServiceUnavailable, Upstreams
from services.gateway.web import public, review, session, views
from services.gateway.web.reading import (
    PUBLIC,
    PageError,
    Reader,
    bad_request,
    detail_of,
    not_found,
    refusal,
)

#: what the browser may load on these pages: only the gateway's own files, no script at all
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
LOGIN_PATH = "/review/logga-in"


def blueprint(upstreams: Upstreams) -> Blueprint:
    """The web pages; registered in the gateway by app.py's BLUEPRINTS."""
    web = Blueprint(
        "web",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static/web",
    )
    web.record_once(lambda state: session.configure(cast(Flask, state.app)))
    _hooks(web)
    _public_routes(web, upstreams)
    _review_routes(web, upstreams)
    _document_routes(web, upstreams)
    return web


def _hooks(web: Blueprint) -> None:
    @web.errorhandler(PageError)
    def _page_error(exc: PageError) -> tuple[str, int]:
        return render_template("web/error.html", error=exc), exc.status

    @web.context_processor
    def _context() -> dict[str, Any]:
        return {
            "csrf_token": session.csrf_token,
            "csrf_field": session.CSRF_FIELD,
            "reviewer": session.current,
            "number": views.number,
        }

    @web.before_request
    def _guard() -> BaseResponse | None:
        """Reviewer pages need a live session; every POST needs this session's form token."""
        if request.method == "POST" and not session.csrf_ok():
            raise PageError(
                400,
                "Formuläret kunde inte skickas",
                "Formuläret saknade en giltig kontrollkod (det kan ha blivit för gammalt). "
                "Ladda om sidan och försök igen.",
            )
        if not request.path.startswith("/review") or request.path == LOGIN_PATH:
            return None
        if session.current() is None:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")), 303)
        return None

    @web.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/review"):
            response.headers["Cache-Control"] = "no-store"
        return response


def _year(name: str = "ar") -> int:
    try:
        return views.parse_year(request.args.get(name), public.default_year())
    except views.BadDate as exc:
        raise bad_request(str(exc)) from None


def _as_of(name: str = "as_of") -> views.AsOf | None:
    try:
        return views.parse_as_of(request.args.get(name), clock=request.args.get("kl"))
    except views.BadDate as exc:
        raise bad_request(str(exc)) from None


def _public_routes(web: Blueprint, upstreams: Upstreams) -> None:
    @web.get("/")
    def dashboard() -> str:
        data = public.dashboard(Reader(upstreams, PUBLIC), _year())
        return render_template("web/dashboard.html", **data)

    @web.get("/mal/")
    @web.get("/mal/<goal_id>/<path:rest>")
    def goal_unknown(**_: str) -> str:
        raise not_found("Det finns ingen sådan sida. Målen nås från startsidan.")

    @web.get("/mal/<goal_id>")
    def goal(goal_id: str) -> str:
        data = public.goal_page(Reader(upstreams, PUBLIC), goal_id, _year())
        return render_template("web/goal.html", **data)


def _reader(upstreams: Upstreams) -> Reader:
    reviewer = session.current()
    if reviewer is None:  # the guard redirected already; kept for the type checker
        raise PageError(401, "Inte inloggad", "Logga in för att se sidan.")
    return Reader(upstreams, reviewer.identity)


def _safe_next(raw: str | None) -> str:
    """Where to go after logging in: a reviewer page of this site, never elsewhere."""
    if raw and raw.startswith("/review/") and not raw.startswith("//"):
        parts = urlsplit(raw)
        if not parts.scheme and not parts.netloc and "\\" not in raw:
            return raw
    return url_for("web.start")


def _review_routes(web: Blueprint, upstreams: Upstreams) -> None:
    @web.get(LOGIN_PATH)
    def login() -> str:
        return render_template("web/login.html", next=request.args.get("next", ""), failed=False)

    @web.post(LOGIN_PATH)
    def login_post() -> BaseResponse | tuple[str, int]:
        if session.log_in(request.form.get("key", "")) is None:
            page = render_template("web/login.html", next=request.form.get("next", ""), failed=True)
            return page, 401
        return redirect(_safe_next(request.form.get("next")), 303)

    @web.post("/review/logga-ut")
    def logout() -> BaseResponse:
        session.log_out()
        return redirect(url_for("web.login", utloggad=1), 303)

    @web.get("/review/")
    def start() -> str:
        return render_template("web/review_start.html")

    @web.get("/review/styrkort")
    def scorecard() -> str:
        unit_id = request.args.get("enhet") or None
        data = review.scorecard_page(_reader(upstreams), unit_id, _year(), _as_of())
        return render_template("web/review_scorecard.html", **data)

    @web.get("/review/historik/<entity_id>")
    def timeline(entity_id: str) -> str:
        reader = _reader(upstreams)
        names = {u["id"]: u["name"] for u in review.units(reader)}
        data = review.timeline_page(reader, entity_id, _as_of(), names)
        return render_template("web/review_timeline.html", **data)

    @web.get("/review/skillnad/<entity_id>")
    def diff(entity_id: str) -> str:
        data = review.diff_page(_reader(upstreams), entity_id, _as_of("fran"), _as_of("till"))
        return render_template("web/review_diff.html", **data)

    @web.get("/review/planer")
    def plans() -> str:
        unit_id = request.args.get("enhet") or None
        data = review.plans_page(_reader(upstreams), unit_id, _as_of())
        return render_template("web/review_plans.html", **data)

    @web.get("/review/planer/<plan_id>")
    def plan(plan_id: str) -> str:
        data = review.plan_page(_reader(upstreams), plan_id, _as_of())
        return render_template("web/review_plan.html", **data)

    @web.get("/review/kvalitetsrapporter")
    def quality_reports() -> str:
        data = review.quality_reports_page(_reader(upstreams), _as_of())
        return render_template("web/review_quality_reports.html", **data)

    @web.get("/review/kvalitetsrapporter/<report_id>")
    def quality_report(report_id: str) -> str:
        data = review.quality_report_page(_reader(upstreams), report_id, _as_of())
        return render_template("web/review_quality_report.html", **data)

    @web.get("/review/forsenat")
    def overdue() -> str:
        data = review.overdue_page(_reader(upstreams), _as_of())
        return render_template("web/review_overdue.html", **data)

    @web.get("/review/<path:rest>")
    def review_unknown(rest: str) -> str:
        raise not_found("Det finns ingen sådan sida bland granskningssidorna.")

    @web.get("/review/granskning")
    def audit() -> str:
        data = review.audit_page(_reader(upstreams))
        return render_template("web/review_audit.html", **data)


def _document_routes(web: Blueprint, upstreams: Upstreams) -> None:
    @web.get("/review/rapporter")
    def reports() -> str:
        return render_template("web/review_reports.html", year=_year())

    @web.get("/review/arsredovisning/<int:year>")
    def annual_report(year: int) -> Response:
        return _document(upstreams, "annual-reports", year, "html")

    @web.get("/review/arsredovisning/<int:year>/pdf")
    def annual_report_pdf(year: int) -> Response:
        return _document(upstreams, "annual-reports", year, "pdf")

    @web.get("/review/delarsrapport/<int:year>")
    def interim_report(year: int) -> Response:
        return _document(upstreams, "interim-reports", year, "html")

    @web.get("/review/delarsrapport/<int:year>/pdf")
    def interim_report_pdf(year: int) -> Response:
        return _document(upstreams, "interim-reports", year, "pdf")


def _document(upstreams: Upstreams, kind: str, year: int, form: str) -> Response:
    """The reports service's own HTML or PDF of a report, read as the reviewer."""
    reader = _reader(upstreams)
    as_of = _as_of()
    if kind == "interim-reports" and as_of is None:
        try:
            as_of = views.parse_as_of(f"{review.report_year(year)}-08-31")
        except views.BadDate as exc:
            raise bad_request(str(exc)) from None
    target = reader.target(
        f"/{kind}/{review.report_year(year)}",
        {"format": form, "as_of": review.as_of_param(as_of)},
    )
    try:
        answer = upstreams.request("reports", "GET", target, reader.identity)
    except ServiceUnavailable:
        raise PageError(
            503, "Tjänsten svarar inte", "Rapporttjänsten svarar inte just nu."
        ) from None
    if answer.status_code != 200:
        raise refusal(answer.status_code, detail_of(answer))
    response = Response(answer.content, content_type=answer.headers.get("Content-Type"))
    if form == "pdf":
        name = f"{'arsredovisning' if kind == 'annual-reports' else 'delarsrapport'}-{year}.pdf"
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    # the report page has its own inline styles: it keeps the services' policy, not ours
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return response
