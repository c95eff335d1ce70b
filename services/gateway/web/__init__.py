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
- `/review/logga-in` (GET form, POST `key` + `csrf_token` [+ `next`]): log in with an API key;
  a wrong key is a 401 page with the form again. `POST /review/logga-ut` logs out.
- `/review/` (login): the reviewer's start page, links to all below.
- `/review/styrkort?enhet=<unit_id>&ar=YYYY&as_of=YYYY-MM-DD` (login): goal tree and scorecard
  of a unit's subtree for a year, as it was on a date (the picker "Visa som det såg ut den").
- `/review/historik/<entity_id>[?as_of=]` (login): every event of any entity (goal-, indicator-,
  result-, plan-, report-, ...): when, what, who, on whose decision, minute reference.
- `/review/skillnad/<entity_id>?fran=YYYY-MM-DD&till=YYYY-MM-DD` (login): the entity's state on
  two dates, field by field.
- `/review/planer[?enhet=]`, `/review/planer/<plan_id>` (login): action plans (handlingsplaner)
  with their PDCA phase and activities.
- `/review/kvalitetsrapporter`, `/review/kvalitetsrapporter/<report_id>` (login).
- `/review/rapporter?ar=YYYY` (login): links to the reports below.
- `/review/arsredovisning/<year>` and `.../pdf`, `/review/delarsrapport/<year>[?as_of=]` and
  `.../pdf` (login): the reports service's own HTML and PDF, read as the reviewer.
- `/review/forsenat` (login): the overdue list.
- `/review/granskning` (login, role auditor or admin; others get a 403 page): the hash chain
  of every store ("kedjan är obruten", or the first broken position) and its head.

Every `as_of`, `fran`, `till` takes a day `YYYY-MM-DD` (read as the end of that day, Swedish
time) or an exact instant with offset (`2025-03-31T10:15:00.123+00:00`, as the timeline links).
Without a session a reviewer page redirects (303) to `/review/logga-in?next=<page>`.

Errors are friendly Swedish HTML pages with the right status (400, 403, 404, 503), never JSON.
"""

from __future__ import annotations

from services.gateway.web.routes import blueprint

__all__ = ["blueprint"]
