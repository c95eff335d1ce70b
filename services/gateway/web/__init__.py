"""The gateway's web pages: a public dashboard for citizens and politicians, and reviewer pages
for revisorer, server-rendered (Flask + Jinja2), usable without JavaScript, in Swedish.

The pages read through the same API the apps use: every read goes through `Upstreams` with an
identity, so each service checks roles and scopes as for any caller (reading.py).

Pages (stable URLs; "login" = a reviewer session from `/review/logga-in`):

- `/` (no login): the public dashboard: vision, development areas, adopted goals, indicators,
  latest results, traffic lights, trends (`?ar=YYYY` picks the year).
- `/mal/<goal_id>` (no login): one adopted goal: indicators, charts (SVG with a data table),
  comparisons ("Källa: Kolada"), the decisions behind it (`?ar=YYYY`).
- `/static/web/web.css` (no login): the one style sheet (screen and print).

Errors are friendly Swedish HTML pages with the right status (400, 403, 404, 503), never JSON.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from services.gateway.upstream import Upstreams
from services.gateway.web import public, views
from services.gateway.web.reading import PUBLIC, PageError, Reader, bad_request


def blueprint(upstreams: Upstreams) -> Blueprint:
    """The web pages' routes; registered in the gateway by app.py's BLUEPRINTS."""
    web = Blueprint(
        "web",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static/web",
    )

    @web.errorhandler(PageError)
    def _page_error(exc: PageError) -> tuple[str, int]:
        return render_template("web/error.html", error=exc), exc.status

    @web.get("/")
    def dashboard() -> str:
        year = _year()
        data = public.dashboard(Reader(upstreams, PUBLIC), year)
        return render_template("web/dashboard.html", **data)

    @web.get("/mal/<goal_id>")
    def goal(goal_id: str) -> str:
        data = public.goal_page(Reader(upstreams, PUBLIC), goal_id, _year())
        return render_template("web/goal.html", **data)

    return web


def _year() -> int:
    try:
        return views.parse_year(request.args.get("ar"), public.default_year())
    except views.BadDate as exc:
        raise bad_request(str(exc)) from None
